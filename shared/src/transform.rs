//! Webhook transformations (docs/api.md §15): a jq program, run by the `jaq` crates, that
//! turns the payload object into the object sent.
//!
//! A program is compiled once per distinct text and cached for the process. It runs on a
//! thread of its own: jaq has no way to interrupt a computation, so the delivery waits
//! at most [`TIME_LIMIT`] for it and a program past its time is left to finish in the
//! background (at most [`MAX_RUNAWAY`] at once; beyond that, transformations are refused
//! as `Busy` until one ends, so a runaway program cannot take the process's CPU; the
//! delivery retries them, as it is not their program's fault).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, unwrap_valr, Compiler, Ctx, Vars};
use jaq_json::Val;
use serde_json::value::RawValue;

/// A program's text may be this long.
pub const MAX_PROGRAM_BYTES: usize = 8 * 1024;
/// A run may take this long.
pub const TIME_LIMIT: Duration = Duration::from_millis(100);
/// Its output may be this large, as JSON text.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// Programs still running past their time limit; more make every run answer `Busy` at once.
const MAX_RUNAWAY: usize = 4;
/// Compiled programs kept per process (the cache is emptied when it would grow past this).
const CACHE_SIZE: usize = 512;

/// Natives that would reach outside the payload: the process's environment, where Lambda
/// keeps the function's credentials. (`halt` only ends the run, as an error.)
const REFUSED_NATIVES: [&str; 1] = ["env"];

static RUNAWAY: AtomicUsize = AtomicUsize::new(0);

type Filter = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

/// A compiled program.
pub struct Program {
    filter: Filter,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Program")
    }
}

/// Why a run did not give one object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    #[error("{0}")]
    Failed(String),
    #[error("no output")]
    NoOutput,
    #[error("more than one output")]
    TwoOutputs,
    #[error("the output is not a JSON object")]
    NotAnObject,
    #[error("the output is not valid JSON: {0}")]
    NotJson(String),
    #[error("ran longer than {} ms", TIME_LIMIT.as_millis())]
    TooSlow,
    #[error("the output is larger than {} bytes", MAX_OUTPUT_BYTES)]
    TooLarge,
    #[error("too many earlier transformations are still running past their time limit")]
    Busy,
    /// The process could not start the run's thread (out of threads or memory for now).
    #[error("could not start: {0}")]
    NotStarted(String),
    #[error("the input is not JSON: {0}")]
    Input(String),
}

impl TransformError {
    /// The program did not run for reasons of the process, not its own: another attempt may
    /// succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, TransformError::Busy | TransformError::NotStarted(_))
    }
}

impl Program {
    /// Compiles `code`, or says why it cannot be (the message for the `transform` field).
    pub fn compile(code: &str) -> Result<Program, String> {
        if code.len() > MAX_PROGRAM_BYTES {
            return Err(format!("must be at most {MAX_PROGRAM_BYTES} bytes"));
        }
        if code.trim().is_empty() {
            return Err("must be a jq program".into());
        }
        let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs())
            .filter(|(name, _, _)| !REFUSED_NATIVES.contains(name));
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let modules = loader.load(&arena, File { code, path: () }).map_err(|errors| {
            let mut near: Vec<String> = Vec::new();
            for (_, e) in errors {
                match e {
                    jaq_core::load::Error::Io(_) => near.push("modules cannot be loaded".into()),
                    jaq_core::load::Error::Lex(v) => near.extend(v.into_iter().map(|(_, at)| snippet(at))),
                    jaq_core::load::Error::Parse(v) => near.extend(v.into_iter().map(|(_, at)| snippet(at))),
                }
            }
            format!("is not a jq program: syntax error {}", near.join(", "))
        })?;
        let filter = Compiler::default().with_funs(funs).compile(modules).map_err(|errors| {
            let names: Vec<String> =
                errors.into_iter().flat_map(|(_, v)| v.into_iter().map(|(name, _)| format!("`{name}`"))).collect();
            format!("is not a jq program: undefined {}", names.join(", "))
        })?;
        Ok(Program { filter })
    }

    /// Runs on `input` (a JSON object's text) and returns the output object's text,
    /// within the limits of time and size: after [`TIME_LIMIT`] it answers `TooSlow`.
    pub async fn run(self: &Arc<Self>, input: &str) -> Result<String, TransformError> {
        if RUNAWAY.load(Ordering::Relaxed) >= MAX_RUNAWAY {
            return Err(TransformError::Busy);
        }
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let program = Arc::clone(self);
        let input = input.to_owned();
        let deadline = Instant::now() + TIME_LIMIT;
        let spawned = std::thread::Builder::new().name("transform".into()).spawn(move || {
            let result = program.run_here(&input, deadline);
            if tx.send(result).is_err() {
                // Nobody waits any more: this run was counted as a runaway.
                RUNAWAY.fetch_sub(1, Ordering::Relaxed);
            }
        });
        if let Err(e) = spawned {
            return Err(TransformError::NotStarted(e.to_string()));
        }
        match tokio::time::timeout(TIME_LIMIT, &mut rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(TransformError::Failed("the run stopped without a result".into())),
            Err(_) => {
                RUNAWAY.fetch_add(1, Ordering::Relaxed);
                // The thread may have sent just now; if so it is not a runaway after all.
                match rx.try_recv() {
                    Ok(result) => {
                        RUNAWAY.fetch_sub(1, Ordering::Relaxed);
                        result
                    }
                    Err(_) => {
                        drop(rx);
                        Err(TransformError::TooSlow)
                    }
                }
            }
        }
    }

    fn run_here(&self, input: &str, deadline: Instant) -> Result<String, TransformError> {
        let input = jaq_json::read::parse_single(input.as_bytes()).map_err(|e| TransformError::Input(e.to_string()))?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut outputs = self.filter.id.run((ctx, input)).map(unwrap_valr);
        let first = match outputs.next() {
            None => return Err(TransformError::NoOutput),
            Some(Err(e)) => return Err(TransformError::Failed(error_text(&e))),
            Some(Ok(v)) => v,
        };
        if Instant::now() > deadline {
            return Err(TransformError::TooSlow);
        }
        match outputs.next() {
            None => {}
            Some(Ok(_)) => return Err(TransformError::TwoOutputs),
            Some(Err(e)) => return Err(TransformError::Failed(error_text(&e))),
        }
        if !matches!(first, Val::Obj(_)) {
            return Err(TransformError::NotAnObject);
        }
        let text = first.to_string();
        if text.len() > MAX_OUTPUT_BYTES {
            return Err(TransformError::TooLarge);
        }
        // jaq writes NaN, Infinity and non-string keys, which JSON has not.
        let checked: Box<RawValue> = serde_json::from_str(&text).map_err(|e| TransformError::NotJson(e.to_string()))?;
        if Instant::now() > deadline {
            return Err(TransformError::TooSlow);
        }
        Ok(checked.get().to_owned())
    }
}

/// The program text near a syntax error, for the message.
fn snippet(at: &str) -> String {
    let near: String = at.chars().take(20).collect();
    if near.is_empty() {
        "at the end".into()
    } else {
        format!("near `{near}`")
    }
}

/// An error value as a person reads it: a string without its quotes.
fn error_text(e: &jaq_core::Error<Val>) -> String {
    let text = e.to_string();
    match serde_json::from_str::<String>(&text) {
        Ok(s) => s,
        Err(_) => text,
    }
}

/// The compiled form of `code`, from the process's cache.
pub fn cached(code: &str) -> Result<Arc<Program>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Program>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(code) {
        return Ok(Arc::clone(p));
    }
    let program = Arc::new(Program::compile(code)?);
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= CACHE_SIZE {
        map.clear();
    }
    map.insert(code.to_owned(), Arc::clone(&program));
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str, input: &str) -> Result<String, TransformError> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(Arc::new(Program::compile(code).unwrap()).run(input))
    }

    #[test]
    fn a_program_shapes_the_payload_and_keeps_big_numbers() {
        let out = run(
            "{kind: .event, amount: .data.amount, tags: [.data.tags[] | ascii_upcase]}",
            r#"{"event":"a.b","data":{"amount":123456789012345678901234567890.25,"tags":["x","y"]}}"#,
        );
        assert_eq!(out.unwrap(), r#"{"kind":"a.b","amount":123456789012345678901234567890.25,"tags":["X","Y"]}"#);
        assert_eq!(run(".", r#"{"a":1}"#).unwrap(), r#"{"a":1}"#);
    }

    #[test]
    fn each_failure_has_its_reason() {
        assert_eq!(run(r#"error("boom")"#, "{}"), Err(TransformError::Failed("boom".into())));
        assert_eq!(run("empty", "{}"), Err(TransformError::NoOutput));
        assert_eq!(run(".,.", "{}"), Err(TransformError::TwoOutputs));
        assert_eq!(run("[.]", "{}"), Err(TransformError::NotAnObject));
        assert_eq!(run("1", "{}"), Err(TransformError::NotAnObject));
        assert!(matches!(run("{a: nan}", "{}"), Err(TransformError::NotJson(_))));
        assert!(matches!(run(".a.b", r#"{"a":"s"}"#), Err(TransformError::Failed(_))));
        assert_eq!(run(r#"{a: ("x" * 2000000)}"#, "{}"), Err(TransformError::TooLarge));
    }

    #[test]
    fn a_slow_program_is_cut_off_at_the_limit() {
        let started = Instant::now();
        // CPU only: the abandoned run must not take the machine's memory meanwhile.
        assert_eq!(run("{a: last(range(1e12))}", "{}"), Err(TransformError::TooSlow));
        assert!(started.elapsed() < Duration::from_secs(2), "waited {:?}", started.elapsed());
    }

    #[test]
    fn programs_that_do_not_compile_are_refused_with_a_reason() {
        let e = Program::compile("{a: (").unwrap_err();
        assert!(e.starts_with("is not a jq program: syntax error"), "{e}");
        let e = Program::compile("nosuchfn").unwrap_err();
        assert_eq!(e, "is not a jq program: undefined `nosuchfn`");
        assert!(Program::compile("env").is_err(), "the environment holds credentials");
        assert!(Program::compile("$ENV").is_err());
        assert!(Program::compile(&"1 + ".repeat(3000)).unwrap_err().contains("8192"));
        assert!(Program::compile("  ").is_err());
    }

    #[test]
    fn the_cache_compiles_a_program_once() {
        let a = cached("{x: 1}").unwrap();
        let b = cached("{x: 1}").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }
}
