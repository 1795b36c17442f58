//! Webhook payload filters: a JSON object matched against the event envelope.
//!
//! Numbers are compared exactly from their JSON text (`1.0` equals `1`, integers beyond 64 bits
//! keep every digit), so both the filter and the document go through a small parser of our own
//! that keeps number text; serde_json without `arbitrary_precision` would round them to f64.

use std::cmp::Ordering;

use indexmap::IndexMap;

/// A filter that failed validation: `pointer` (RFC 6901) names the offending part of the filter,
/// `""` for the whole of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FilterError {
    pub pointer: String,
    pub message: String,
}

impl FilterError {
    fn new(pointer: &str, message: impl Into<String>) -> Self {
        FilterError { pointer: pointer.to_string(), message: message.into() }
    }
}

/// A validated, compiled filter.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Cond,
}

/// A parsed JSON document (e.g. the event envelope), parsed once and matched against many filters.
#[derive(Debug, Clone)]
pub struct Document(J);

impl Document {
    /// `None` when the text is not valid JSON (or is nested deeper than serde_json would accept).
    pub fn parse(text: &str) -> Option<Document> {
        parse_json(text, DOCUMENT_MAX_DEPTH).ok().map(Document)
    }
}

/// serde_json's own recursion limit: anything deeper never got past intake anyway.
const DOCUMENT_MAX_DEPTH: usize = 128;

impl Filter {
    pub const MAX_BYTES: usize = 4096;
    pub const MAX_DEPTH: usize = 8;

    /// Validates and compiles a filter given as JSON text.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        if text.len() > Self::MAX_BYTES {
            return Err(FilterError::new("", format!("over {} bytes", Self::MAX_BYTES)));
        }
        // A 4 KiB text can still nest ~2000 levels; the parser stops early and the precise
        // pointer comes from `check_depth` for anything the parser accepted.
        let j = parse_json(text, DOCUMENT_MAX_DEPTH).map_err(|e| match e {
            ParseError::TooDeep => FilterError::new("", deeper_message()),
            ParseError::Syntax => FilterError::new("", "not valid JSON"),
        })?;
        let J::Obj(map) = &j else {
            return Err(FilterError::new("", "a filter must be a JSON object"));
        };
        check_depth(&j, 1, "")?;
        Ok(Filter { root: compile_object(map, "")? })
    }

    /// Validates and compiles a filter given as a `serde_json::Value`. A `Value` has already
    /// rounded huge numbers; callers holding the raw text should use [`Filter::parse`].
    pub fn from_value(v: &serde_json::Value) -> Result<Filter, FilterError> {
        let text = serde_json::to_string(v).map_err(|_| FilterError::new("", "not valid JSON"))?;
        Self::parse(&text)
    }

    /// Whether the document (JSON text, e.g. the envelope) matches; invalid JSON never matches.
    pub fn matches_text(&self, document: &str) -> bool {
        Document::parse(document).is_some_and(|d| self.matches(&d))
    }

    /// Whether an already-parsed document matches.
    pub fn matches(&self, doc: &Document) -> bool {
        eval(&self.root, Some(&doc.0))
    }
}

/// The compiled form of a stored filter's text, from the process's cache: intake matches
/// every event against it, so it is parsed once per distinct text, not per event.
pub fn cached(text: &str) -> Result<std::sync::Arc<Filter>, FilterError> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    /// Filters kept per process (the cache is emptied when it would grow past this).
    const CACHE_SIZE: usize = 4096;
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Filter>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(f) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(text) {
        return Ok(Arc::clone(f));
    }
    let filter = Arc::new(Filter::parse(text)?);
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= CACHE_SIZE {
        map.clear();
    }
    map.insert(text.to_owned(), Arc::clone(&filter));
    Ok(filter)
}

fn deeper_message() -> String {
    format!("nested deeper than {} levels", Filter::MAX_DEPTH)
}

// ---------------------------------------------------------------------------------------------
// Exact decimal numbers

/// An exact JSON number: `(-1)^negative × digits × 10^exp`, normalized so that equal values are
/// structurally equal (no leading or trailing zeros in `digits`; zero is empty, positive, exp 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    digits: Box<[u8]>,
    exp: i64,
}

impl Decimal {
    /// Parses JSON number text; `None` for anything else, or an exponent beyond i64 (absurd, and
    /// keeping it exact is not worth a bignum exponent).
    pub(crate) fn parse(s: &str) -> Option<Decimal> {
        let b = s.as_bytes();
        let mut i = 0;
        let negative = b.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let mut digits = Vec::new();
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(c @ b'1'..=b'9') => {
                digits.push(*c);
                i += 1;
                while let Some(c @ b'0'..=b'9') = b.get(i) {
                    digits.push(*c);
                    i += 1;
                }
            }
            _ => return None,
        }
        let mut frac_len: i64 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while let Some(c @ b'0'..=b'9') = b.get(i) {
                digits.push(*c);
                frac_len += 1;
                i += 1;
            }
            if frac_len == 0 {
                return None;
            }
        }
        let mut exp: i64 = 0;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exp_negative = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let start = i;
            while let Some(c @ b'0'..=b'9') = b.get(i) {
                exp = exp.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
                i += 1;
            }
            if i == start {
                return None;
            }
            if exp_negative {
                exp = -exp;
            }
        }
        if i != b.len() {
            return None;
        }
        let mut exp = exp.checked_sub(frac_len)?;
        let lead = digits.iter().take_while(|&&c| c == b'0').count();
        digits.drain(..lead);
        while digits.last() == Some(&b'0') {
            digits.pop();
            exp = exp.checked_add(1)?;
        }
        if digits.is_empty() {
            return Some(Decimal { negative: false, digits: Box::new([]), exp: 0 });
        }
        Some(Decimal { negative, digits: digits.into_boxed_slice(), exp })
    }

    fn sign(&self) -> i8 {
        match (self.digits.is_empty(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        // Position of the leading digit decides first; with no leading or trailing zeros, equal
        // positions compare digit strings lexicographically (a shorter prefix is smaller).
        let top = |d: &Decimal| i128::from(d.exp) + d.digits.len() as i128;
        top(self).cmp(&top(other)).then_with(|| self.digits.cmp(&other.digits))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.sign(), other.sign());
        if a != b {
            return a.cmp(&b);
        }
        match a {
            0 => Ordering::Equal,
            1 => self.cmp_magnitude(other),
            _ => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

// ---------------------------------------------------------------------------------------------
// JSON tree with exact numbers

/// Object equality ignores key order (IndexMap's `PartialEq`); duplicate keys keep the last
/// value, as serde_json does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum J {
    Null,
    Bool(bool),
    Num(Decimal),
    Str(String),
    Arr(Vec<J>),
    Obj(IndexMap<String, J>),
}

#[derive(Debug, PartialEq, Eq)]
enum ParseError {
    Syntax,
    TooDeep,
}

fn parse_json(text: &str, max_depth: usize) -> Result<J, ParseError> {
    let mut p = Parser { text, b: text.as_bytes(), pos: 0, max_depth };
    let v = p.value(0)?;
    p.ws();
    if p.pos != p.b.len() {
        return Err(ParseError::Syntax);
    }
    Ok(v)
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), ParseError> {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(ParseError::Syntax)
        }
    }

    /// `depth` is the number of enclosing containers.
    fn value(&mut self, depth: usize) -> Result<J, ParseError> {
        self.ws();
        match self.peek().ok_or(ParseError::Syntax)? {
            b'{' => {
                if depth + 1 > self.max_depth {
                    return Err(ParseError::TooDeep);
                }
                self.pos += 1;
                let mut map = IndexMap::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(J::Obj(map));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(ParseError::Syntax);
                    }
                    let key = self.string()?;
                    self.expect(b':')?;
                    let v = self.value(depth + 1)?;
                    map.insert(key, v);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(J::Obj(map));
                        }
                        _ => return Err(ParseError::Syntax),
                    }
                }
            }
            b'[' => {
                if depth + 1 > self.max_depth {
                    return Err(ParseError::TooDeep);
                }
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(J::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(J::Arr(items));
                        }
                        _ => return Err(ParseError::Syntax),
                    }
                }
            }
            b'"' => self.string().map(J::Str),
            b't' => self.literal("true", J::Bool(true)),
            b'f' => self.literal("false", J::Bool(false)),
            b'n' => self.literal("null", J::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                while matches!(self.peek(), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
                    self.pos += 1;
                }
                Decimal::parse(&self.text[start..self.pos]).map(J::Num).ok_or(ParseError::Syntax)
            }
            _ => Err(ParseError::Syntax),
        }
    }

    fn literal(&mut self, word: &str, v: J) -> Result<J, ParseError> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(ParseError::Syntax)
        }
    }

    /// At an opening quote. Escapes are decoded by serde_json, which also rejects bad ones.
    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            match self.peek().ok_or(ParseError::Syntax)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.pos += 2;
                }
                c if c < 0x20 => return Err(ParseError::Syntax),
                _ => self.pos += 1,
            }
        }
        self.pos += 1;
        if escaped {
            serde_json::from_str(&self.text[start..self.pos]).map_err(|_| ParseError::Syntax)
        } else {
            Ok(self.text[start + 1..self.pos - 1].to_string())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled filter

#[derive(Debug, Clone)]
enum Cond {
    /// An object without `$` keys: each field's condition holds on the document's field.
    Fields(Vec<(String, Cond)>),
    /// A scalar or array given as a field's value.
    Equals(J),
    /// An object of operators, all of which hold.
    Ops(Vec<Op>),
}

#[derive(Debug, Clone, Copy)]
enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone)]
enum Op {
    Eq(J),
    Neq(J),
    Cmp(CmpOp, J),
    In(Vec<J>),
    Nin(Vec<J>),
    Exists(bool),
    StartsWith(String),
    EndsWith(String),
    Contains(J),
    Or(Vec<Cond>),
    And(Vec<Cond>),
    Not(Box<Cond>),
}

fn escape_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn child(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", escape_token(token))
}

fn check_depth(j: &J, depth: usize, pointer: &str) -> Result<(), FilterError> {
    let too_deep = || FilterError::new(pointer, deeper_message());
    match j {
        J::Obj(map) => {
            if depth > Filter::MAX_DEPTH {
                return Err(too_deep());
            }
            map.iter().try_for_each(|(k, v)| check_depth(v, depth + 1, &child(pointer, k)))
        }
        J::Arr(items) => {
            if depth > Filter::MAX_DEPTH {
                return Err(too_deep());
            }
            items.iter().enumerate().try_for_each(|(i, v)| check_depth(v, depth + 1, &child(pointer, &i.to_string())))
        }
        _ => Ok(()),
    }
}

fn compile_object(map: &IndexMap<String, J>, pointer: &str) -> Result<Cond, FilterError> {
    let operators = map.keys().filter(|k| k.starts_with('$')).count();
    if operators == 0 {
        let fields = map
            .iter()
            .map(|(k, v)| Ok((k.clone(), compile_value(v, &child(pointer, k))?)))
            .collect::<Result<_, FilterError>>()?;
        return Ok(Cond::Fields(fields));
    }
    if operators != map.len() {
        return Err(FilterError::new(pointer, "an object cannot mix operators ($...) with field names"));
    }
    map.iter().map(|(k, v)| compile_op(k, v, &child(pointer, k))).collect::<Result<_, _>>().map(Cond::Ops)
}

fn compile_value(v: &J, pointer: &str) -> Result<Cond, FilterError> {
    match v {
        J::Obj(map) => compile_object(map, pointer),
        other => Ok(Cond::Equals(other.clone())),
    }
}

fn compile_op(name: &str, operand: &J, pointer: &str) -> Result<Op, FilterError> {
    let need = |what: &str| FilterError::new(pointer, format!("{name} needs {what}"));
    let comparable = || match operand {
        J::Num(_) | J::Str(_) => Ok(operand.clone()),
        _ => Err(need("a number or a string")),
    };
    let string = || match operand {
        J::Str(s) => Ok(s.clone()),
        _ => Err(need("a string")),
    };
    let array = || match operand {
        J::Arr(items) => Ok(items.clone()),
        _ => Err(need("an array")),
    };
    let filters = || match operand {
        J::Arr(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = child(pointer, &i.to_string());
                match item {
                    J::Obj(map) => compile_object(map, &at),
                    _ => Err(FilterError::new(&at, format!("each {name} entry must be an object"))),
                }
            })
            .collect::<Result<Vec<_>, _>>(),
        _ => Err(need("a non-empty array of filters")),
    };
    Ok(match name {
        "$eq" => Op::Eq(operand.clone()),
        "$neq" => Op::Neq(operand.clone()),
        "$gt" => Op::Cmp(CmpOp::Gt, comparable()?),
        "$gte" => Op::Cmp(CmpOp::Gte, comparable()?),
        "$lt" => Op::Cmp(CmpOp::Lt, comparable()?),
        "$lte" => Op::Cmp(CmpOp::Lte, comparable()?),
        "$in" => Op::In(array()?),
        "$nin" => Op::Nin(array()?),
        "$exists" => match operand {
            J::Bool(b) => Op::Exists(*b),
            _ => return Err(need("true or false")),
        },
        "$startsWith" => Op::StartsWith(string()?),
        "$endsWith" => Op::EndsWith(string()?),
        "$contains" => Op::Contains(operand.clone()),
        "$or" => Op::Or(filters()?),
        "$and" => Op::And(filters()?),
        "$not" => match operand {
            J::Obj(map) => Op::Not(Box::new(compile_object(map, pointer)?)),
            _ => return Err(need("a filter object")),
        },
        _ => return Err(FilterError::new(pointer, format!("unknown operator {name}"))),
    })
}

// ---------------------------------------------------------------------------------------------
// Matching. `None` is a missing key.

fn eval(cond: &Cond, v: Option<&J>) -> bool {
    match cond {
        Cond::Fields(fields) => match v {
            Some(J::Obj(map)) => fields_hold(fields, map),
            Some(J::Arr(items)) => items.iter().any(|e| matches!(e, J::Obj(map) if fields_hold(fields, map))),
            _ => false,
        },
        Cond::Equals(x) => v.is_some_and(|v| equals(x, v)),
        Cond::Ops(ops) => ops.iter().all(|op| op_holds(op, v)),
    }
}

fn fields_hold(fields: &[(String, Cond)], map: &IndexMap<String, J>) -> bool {
    fields.iter().all(|(k, c)| eval(c, map.get(k)))
}

/// `v` equals `x`, or (for a non-array `x`) `v` is an array with an element equal to `x`.
fn equals(x: &J, v: &J) -> bool {
    v == x || (!matches!(x, J::Arr(_)) && matches!(v, J::Arr(items) if items.contains(x)))
}

/// The test on `v`, or on any element when `v` is an array.
fn this_or_any(v: &J, test: impl Fn(&J) -> bool) -> bool {
    test(v) || matches!(v, J::Arr(items) if items.iter().any(&test))
}

fn compare(op: CmpOp, x: &J, v: &J) -> bool {
    let ord = match (v, x) {
        (J::Num(a), J::Num(b)) => a.cmp(b),
        (J::Str(a), J::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
        _ => return false,
    };
    match op {
        CmpOp::Gt => ord.is_gt(),
        CmpOp::Gte => ord.is_ge(),
        CmpOp::Lt => ord.is_lt(),
        CmpOp::Lte => ord.is_le(),
    }
}

fn op_holds(op: &Op, v: Option<&J>) -> bool {
    match op {
        Op::Eq(x) => v.is_some_and(|v| equals(x, v)),
        // Like MongoDB's $ne/$nin, a missing key is "not equal": these are exact negations.
        Op::Neq(x) => !v.is_some_and(|v| equals(x, v)),
        Op::In(xs) => v.is_some_and(|v| xs.iter().any(|x| equals(x, v))),
        Op::Nin(xs) => !v.is_some_and(|v| xs.iter().any(|x| equals(x, v))),
        Op::Cmp(c, x) => v.is_some_and(|v| this_or_any(v, |e| compare(*c, x, e))),
        Op::Exists(b) => v.is_some() == *b,
        Op::StartsWith(s) => v.is_some_and(|v| this_or_any(v, |e| matches!(e, J::Str(t) if t.starts_with(s.as_str())))),
        Op::EndsWith(s) => v.is_some_and(|v| this_or_any(v, |e| matches!(e, J::Str(t) if t.ends_with(s.as_str())))),
        Op::Contains(x) => match (v, x) {
            (Some(J::Str(t)), J::Str(s)) => t.contains(s.as_str()),
            (Some(J::Arr(items)), x) => items.contains(x),
            _ => false,
        },
        Op::Or(cs) => cs.iter().any(|c| eval(c, v)),
        Op::And(cs) => cs.iter().all(|c| eval(c, v)),
        Op::Not(c) => !eval(c, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn dec(s: &str) -> Decimal {
        Decimal::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    fn m(filter: &str, doc: &str) -> bool {
        Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e:?}")).matches_text(doc)
    }

    fn err(filter: &str) -> (String, String) {
        match Filter::parse(filter) {
            Ok(_) => panic!("{filter} should be rejected"),
            Err(e) => (e.pointer, e.message),
        }
    }

    fn ptr(filter: &str) -> String {
        err(filter).0
    }

    const ENVELOPE: &str = r#"{
        "id": "evt_1", "event": "order.created", "timestamp": "2024-05-01T10:00:00Z",
        "project_id": "prj_1", "client_id": "cli_1",
        "data": {
            "amount": 250, "currency": "EUR", "note": null, "paid": true, "ratio": 0.5,
            "tags": ["blue", "red"], "scores": [3, 8],
            "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 5}],
            "customer": {"email": "ann@example.com", "tier": "gold"},
            "big": 123456789012345678901234567890,
            "a/b": 1, "t~x": 2
        }
    }"#;

    fn env(filter: &str) -> bool {
        m(filter, ENVELOPE)
    }

    // --- Decimal ---

    #[test]
    fn decimal_equal_spellings() {
        assert_eq!(dec("1.0"), dec("1"));
        assert_eq!(dec("1e2"), dec("100"));
        assert_eq!(dec("1E+2"), dec("100"));
        assert_eq!(dec("100e-2"), dec("1"));
        assert_eq!(dec("0.1"), dec("0.10"));
        assert_eq!(dec("-0"), dec("0"));
        assert_eq!(dec("-0.0e5"), dec("0"));
        assert_eq!(dec("0e-7"), dec("0.000"));
        assert_eq!(dec("1e400"), dec("10e399"));
        assert_eq!(dec("12.5e1"), dec("125"));
    }

    #[test]
    fn decimal_differs_beyond_64_bits() {
        assert_ne!(dec("123456789012345678901234567890"), dec("123456789012345678901234567891"));
        assert!(dec("123456789012345678901234567890") < dec("123456789012345678901234567891"));
        assert!(dec("18446744073709551616") > dec("18446744073709551615"));
        assert!(dec("-18446744073709551616") < dec("-18446744073709551615"));
        assert_ne!(dec("9007199254740993"), dec("9007199254740992"));
        assert_ne!(dec("1e400"), dec("1e401"));
        assert!(dec("1e400") < dec("1e401"));
        assert!(dec("1e-400") > dec("0"));
        assert!(dec("-1e-400") < dec("0"));
    }

    #[test]
    fn decimal_ordering() {
        let ordered = [
            "-1e400", "-100", "-12.5", "-12", "-1", "-0.5", "-1e-400", "0", "1e-400", "0.1", "0.11", "1", "1.5", "2",
            "12", "12.3", "99", "100", "1e400",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(dec(a).cmp(&dec(b)), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn decimal_rejects_non_json_numbers() {
        for s in
            ["", "-", "01", "-01", "1.", ".5", "+1", "1e", "1e+", "1.e5", "0x10", "1 ", "NaN", "1e99999999999999999999"]
        {
            assert!(Decimal::parse(s).is_none(), "{s:?}");
        }
        for s in ["0", "-0", "0.0", "10", "1e5", "1E-5", "-1.25e+3", "0e0"] {
            assert!(Decimal::parse(s).is_some(), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn decimal_orders_like_i128(a in any::<i64>(), b in any::<i64>(), shift in 0u32..20) {
            prop_assert_eq!(dec(&a.to_string()).cmp(&dec(&b.to_string())), a.cmp(&b));
            let scaled = i128::from(a) * 10i128.pow(shift);
            prop_assert_eq!(dec(&format!("{a}e{shift}")), dec(&scaled.to_string()));
            prop_assert_eq!(dec(&format!("{a}.000")), dec(&a.to_string()));
        }
    }

    // --- Parser ---

    #[test]
    fn parser_agrees_with_serde_json_on_validity() {
        let inputs = [
            "{}",
            "[]",
            "1",
            "-0.5e3",
            "\"x\"",
            "true",
            "false",
            "null",
            r#"{"a":[1,{"b":null}]}"#,
            r#" { "a" : 1 } "#,
            r#""\u00e9\n\"""#,
            r#""\ud83d\ude00""#,
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "01",
            "1.",
            "[1 2]",
            "tru",
            "nul",
            "\"\\x\"",
            "\"a\nb\"",
            "\"\\u12\"",
            "{} {}",
            "",
            " ",
            "[-]",
            "{\"a\" 1}",
            "\"unterminated",
            "\"ends with backslash\\",
            "[\"\\\"\"]",
        ];
        for s in inputs {
            let ours = parse_json(s, DOCUMENT_MAX_DEPTH).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(s).is_ok();
            assert_eq!(ours, theirs, "{s:?}");
        }
    }

    #[test]
    fn parser_keeps_strings_and_last_duplicate_key() {
        let j = parse_json(r#"{"s":"a\"b\u00e9","s2":"plain é","k":1,"k":2}"#, 10).unwrap();
        let J::Obj(map) = j else { panic!() };
        assert_eq!(map["s"], J::Str("a\"bé".into()));
        assert_eq!(map["s2"], J::Str("plain é".into()));
        assert_eq!(map["k"], J::Num(dec("2")));
    }

    #[test]
    fn parser_depth_limit() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse_json(&deep(128), 128).is_ok());
        assert_eq!(parse_json(&deep(129), 128), Err(ParseError::TooDeep));
        assert!(Document::parse(&deep(100_000)).is_none());
    }

    // --- Matching: plain values ---

    #[test]
    fn plain_fields() {
        assert!(env(r#"{"event":"order.created"}"#));
        assert!(!env(r#"{"event":"order.updated"}"#));
        assert!(env(r#"{"event":"order.created","data":{"currency":"EUR","paid":true}}"#));
        assert!(!env(r#"{"event":"order.created","data":{"currency":"USD"}}"#));
        assert!(env(r#"{"data":{"customer":{"tier":"gold"}}}"#));
        assert!(!env(r#"{"data":{"customer":{"tier":"silver"}}}"#));
        assert!(env(r#"{"data":{"note":null}}"#));
        assert!(!env(r#"{"data":{"paid":false}}"#));
        assert!(env("{}"));
        assert!(env(r#"{"data":{}}"#));
        // `{}` requires an object; a string is not one.
        assert!(!env(r#"{"event":{}}"#));
    }

    #[test]
    fn numbers_by_value() {
        assert!(env(r#"{"data":{"amount":250.0}}"#));
        assert!(env(r#"{"data":{"amount":2.5e2}}"#));
        assert!(env(r#"{"data":{"ratio":5e-1}}"#));
        assert!(!env(r#"{"data":{"amount":251}}"#));
        assert!(env(r#"{"data":{"big":123456789012345678901234567890}}"#));
        assert!(env(r#"{"data":{"big":1.23456789012345678901234567890e29}}"#));
        assert!(!env(r#"{"data":{"big":123456789012345678901234567891}}"#));
        assert!(m(r#"{"n":0}"#, r#"{"n":-0.0}"#));
        assert!(m(r#"{"n":1e2}"#, r#"{"n":100}"#));
    }

    #[test]
    fn missing_keys_do_not_match() {
        assert!(!env(r#"{"data":{"missing":1}}"#));
        assert!(!env(r#"{"data":{"missing":null}}"#));
        assert!(!env(r#"{"nope":{"x":1}}"#));
        assert!(!env(r#"{"data":{"missing":{"$eq":1}}}"#));
        assert!(!env(r#"{"data":{"missing":{"$gt":1}}}"#));
        assert!(!env(r#"{"data":{"missing":{"$in":[1]}}}"#));
        assert!(!env(r#"{"data":{"missing":{"$startsWith":""}}}"#));
        assert!(!env(r#"{"data":{"missing":{"$contains":"a"}}}"#));
        // MongoDB's rule: a missing key is "not equal" to anything.
        assert!(env(r#"{"data":{"missing":{"$neq":1}}}"#));
        assert!(env(r#"{"data":{"missing":{"$nin":[1]}}}"#));
        assert!(env(r#"{"data":{"missing":{"$not":{"$eq":1}}}}"#));
    }

    #[test]
    fn array_equality() {
        assert!(env(r#"{"data":{"tags":["blue","red"]}}"#));
        assert!(!env(r#"{"data":{"tags":["red","blue"]}}"#));
        assert!(!env(r#"{"data":{"tags":["blue"]}}"#));
        assert!(!env(r#"{"data":{"tags":["blue","red","green"]}}"#));
        assert!(env(r#"{"data":{"scores":[3.0,8e0]}}"#));
        assert!(env(r#"{"data":{"items":[{"qty":1,"sku":"A"},{"sku":"B","qty":5}]}}"#));
        assert!(!env(r#"{"data":{"items":[{"sku":"A"},{"sku":"B"}]}}"#));
        assert!(m(r#"{"a":[]}"#, r#"{"a":[]}"#));
        assert!(!m(r#"{"a":[]}"#, r#"{"a":[1]}"#));
        assert!(!m(r#"{"a":[1]}"#, r#"{"a":1}"#));
    }

    #[test]
    fn any_element_of_an_array() {
        assert!(env(r#"{"data":{"tags":"red"}}"#));
        assert!(!env(r#"{"data":{"tags":"green"}}"#));
        assert!(env(r#"{"data":{"scores":8}}"#));
        assert!(env(r#"{"data":{"items":{"sku":"A"}}}"#));
        assert!(env(r#"{"data":{"items":{"sku":"B","qty":5}}}"#));
        // Both conditions must hold on the same element.
        assert!(!env(r#"{"data":{"items":{"sku":"A","qty":5}}}"#));
        assert!(!env(r#"{"data":{"items":{"sku":"C"}}}"#));
        assert!(env(r#"{"data":{"items":{"qty":{"$gt":4}}}}"#));
        assert!(!env(r#"{"data":{"items":{"qty":{"$gt":5}}}}"#));
        assert!(env(r#"{"data":{"scores":{"$gt":5}}}"#));
        assert!(env(r#"{"data":{"scores":{"$lt":5}}}"#));
        assert!(!env(r#"{"data":{"scores":{"$gt":8}}}"#));
        assert!(env(r#"{"data":{"tags":{"$startsWith":"re"}}}"#));
        assert!(env(r#"{"data":{"tags":{"$endsWith":"ue"}}}"#));
        assert!(env(r#"{"data":{"tags":{"$in":["red","green"]}}}"#));
        assert!(!env(r#"{"data":{"tags":{"$in":["green"]}}}"#));
        // Only one level: an element that is itself an array is not searched.
        assert!(!m(r#"{"a":1}"#, r#"{"a":[[1]]}"#));
        assert!(m(r#"{"a":[1]}"#, r#"{"a":[1]}"#));
    }

    // --- Operators ---

    #[test]
    fn op_eq() {
        assert!(env(r#"{"data":{"currency":{"$eq":"EUR"}}}"#));
        assert!(!env(r#"{"data":{"currency":{"$eq":"USD"}}}"#));
        assert!(env(r#"{"data":{"amount":{"$eq":250.00}}}"#));
        assert!(env(r#"{"data":{"tags":{"$eq":"red"}}}"#));
        assert!(env(r#"{"data":{"tags":{"$eq":["blue","red"]}}}"#));
        assert!(!env(r#"{"data":{"tags":{"$eq":["red"]}}}"#));
        assert!(env(r#"{"data":{"customer":{"$eq":{"tier":"gold","email":"ann@example.com"}}}}"#));
        assert!(!env(r#"{"data":{"customer":{"$eq":{"tier":"gold"}}}}"#));
        assert!(env(r#"{"data":{"note":{"$eq":null}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$eq":"250"}}}"#));
    }

    #[test]
    fn op_neq() {
        assert!(env(r#"{"data":{"currency":{"$neq":"USD"}}}"#));
        assert!(!env(r#"{"data":{"currency":{"$neq":"EUR"}}}"#));
        assert!(!env(r#"{"data":{"tags":{"$neq":"red"}}}"#));
        assert!(env(r#"{"data":{"tags":{"$neq":"green"}}}"#));
        assert!(env(r#"{"data":{"amount":{"$neq":"250"}}}"#));
    }

    #[test]
    fn op_ordering_numbers() {
        assert!(env(r#"{"data":{"amount":{"$gt":249.99}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$gt":250}}}"#));
        assert!(env(r#"{"data":{"amount":{"$gte":250.0}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$gte":250.01}}}"#));
        assert!(env(r#"{"data":{"amount":{"$lt":2.5e3}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$lt":250}}}"#));
        assert!(env(r#"{"data":{"amount":{"$lte":250}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$lte":-250}}}"#));
        assert!(env(r#"{"data":{"amount":{"$gt":100,"$lt":300}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$gt":100,"$lt":200}}}"#));
        assert!(m(r#"{"n":{"$lt":-5}}"#, r#"{"n":-10}"#));
        assert!(!m(r#"{"n":{"$gt":-5}}"#, r#"{"n":-10}"#));
    }

    #[test]
    fn op_ordering_beyond_64_bits() {
        assert!(env(r#"{"data":{"big":{"$gt":123456789012345678901234567889}}}"#));
        assert!(!env(r#"{"data":{"big":{"$gt":123456789012345678901234567890}}}"#));
        assert!(env(r#"{"data":{"big":{"$lt":123456789012345678901234567891}}}"#));
        assert!(env(r#"{"data":{"big":{"$gte":1.23456789012345678901234567890e29}}}"#));
        assert!(m(r#"{"n":{"$gt":18446744073709551615}}"#, r#"{"n":18446744073709551616}"#));
        assert!(m(r#"{"n":{"$lt":-18446744073709551615}}"#, r#"{"n":-18446744073709551616}"#));
        assert!(m(r#"{"n":{"$gt":1e400}}"#, r#"{"n":1e401}"#));
    }

    #[test]
    fn op_ordering_strings_by_bytes() {
        assert!(env(r#"{"timestamp":{"$gte":"2024-05-01T00:00:00Z","$lt":"2024-06-01"}}"#));
        assert!(!env(r#"{"timestamp":{"$gt":"2024-05-02"}}"#));
        assert!(m(r#"{"s":{"$lt":"a"}}"#, r#"{"s":"Z"}"#));
        assert!(m(r#"{"s":{"$gt":"ab"}}"#, r#"{"s":"abc"}"#));
        assert!(m(r#"{"s":{"$gt":"z"}}"#, r#"{"s":"é"}"#));
        assert!(m(r#"{"s":{"$lt":"10"}}"#, r#"{"s":"1"}"#));
        assert!(m(r#"{"s":{"$lt":"9"}}"#, r#"{"s":"10"}"#));
    }

    #[test]
    fn mixed_kinds_compare_false() {
        assert!(!env(r#"{"data":{"amount":{"$gt":"1"}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$lt":"z"}}}"#));
        assert!(!env(r#"{"data":{"currency":{"$gt":0}}}"#));
        assert!(!env(r#"{"data":{"currency":{"$lte":1e400}}}"#));
        assert!(!env(r#"{"data":{"paid":{"$gte":0}}}"#));
        assert!(!env(r#"{"data":{"note":{"$lt":1}}}"#));
        assert!(!env(r#"{"data":{"customer":{"$gt":""}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$startsWith":"2"}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$contains":"5"}}}"#));
        assert!(!env(r#"{"data":{"amount":"250"}}"#));
        assert!(!env(r#"{"data":{"paid":1}}"#));
    }

    #[test]
    fn op_in_nin() {
        assert!(env(r#"{"data":{"currency":{"$in":["USD","EUR"]}}}"#));
        assert!(!env(r#"{"data":{"currency":{"$in":["USD","GBP"]}}}"#));
        assert!(!env(r#"{"data":{"currency":{"$in":[]}}}"#));
        assert!(env(r#"{"data":{"amount":{"$in":[1,2.5e2]}}}"#));
        assert!(env(r#"{"data":{"tags":{"$in":[["blue","red"]]}}}"#));
        assert!(env(r#"{"data":{"currency":{"$nin":["USD","GBP"]}}}"#));
        assert!(!env(r#"{"data":{"currency":{"$nin":["EUR"]}}}"#));
        assert!(env(r#"{"data":{"currency":{"$nin":[]}}}"#));
        assert!(!env(r#"{"data":{"tags":{"$nin":["red"]}}}"#));
        assert!(env(r#"{"data":{"tags":{"$nin":["green"]}}}"#));
    }

    #[test]
    fn op_exists() {
        assert!(env(r#"{"data":{"note":{"$exists":true}}}"#));
        assert!(!env(r#"{"data":{"note":{"$exists":false}}}"#));
        assert!(env(r#"{"data":{"missing":{"$exists":false}}}"#));
        assert!(!env(r#"{"data":{"missing":{"$exists":true}}}"#));
        assert!(env(r#"{"client_id":{"$exists":true},"data":{"missing":{"$exists":false}}}"#));
    }

    #[test]
    fn op_starts_ends_with() {
        assert!(env(r#"{"event":{"$startsWith":"order."}}"#));
        assert!(!env(r#"{"event":{"$startsWith":"invoice."}}"#));
        assert!(env(r#"{"event":{"$startsWith":""}}"#));
        assert!(env(r#"{"data":{"customer":{"email":{"$endsWith":"@example.com"}}}}"#));
        assert!(!env(r#"{"data":{"customer":{"email":{"$endsWith":"@example.org"}}}}"#));
        assert!(!env(r#"{"event":{"$startsWith":"Order."}}"#));
    }

    #[test]
    fn op_contains() {
        assert!(env(r#"{"event":{"$contains":"der.cr"}}"#));
        assert!(!env(r#"{"event":{"$contains":"refund"}}"#));
        assert!(env(r#"{"data":{"tags":{"$contains":"red"}}}"#));
        assert!(!env(r#"{"data":{"tags":{"$contains":"re"}}}"#));
        assert!(env(r#"{"data":{"scores":{"$contains":8.0}}}"#));
        assert!(env(r#"{"data":{"items":{"$contains":{"sku":"A","qty":1}}}}"#));
        assert!(!env(r#"{"data":{"items":{"$contains":{"sku":"A"}}}}"#));
        assert!(m(r#"{"a":{"$contains":[1,2]}}"#, r#"{"a":[[1,2],3]}"#));
        assert!(!m(r#"{"a":{"$contains":[1,2]}}"#, r#"{"a":[1,2]}"#));
        assert!(!m(r#"{"a":{"$contains":1}}"#, r#"{"a":"1"}"#));
    }

    #[test]
    fn logical_top_level() {
        assert!(env(r#"{"$or":[{"event":"x"},{"event":"order.created"}]}"#));
        assert!(!env(r#"{"$or":[{"event":"x"},{"event":"y"}]}"#));
        assert!(env(r#"{"$and":[{"event":"order.created"},{"data":{"paid":true}}]}"#));
        assert!(!env(r#"{"$and":[{"event":"order.created"},{"data":{"paid":false}}]}"#));
        assert!(env(r#"{"$not":{"event":"order.updated"}}"#));
        assert!(!env(r#"{"$not":{"event":"order.created"}}"#));
        assert!(!env(r#"{"$or":[{"event":"x"}],"$not":{"event":"y"},"$and":[{}]}"#));
        assert!(env(r#"{"$or":[{"event":"order.created"}],"$not":{"event":"y"}}"#));
    }

    #[test]
    fn logical_nested() {
        assert!(env(r#"{"data":{"amount":{"$or":[{"$lt":10},{"$gt":200}]}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$or":[{"$lt":10},{"$gt":300}]}}}"#));
        assert!(env(r#"{"data":{"amount":{"$and":[{"$gt":10},{"$lt":300}]}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$and":[{"$gt":10},{"$lt":200}]}}}"#));
        assert!(env(r#"{"data":{"amount":{"$not":{"$lt":100}}}}"#));
        assert!(!env(r#"{"data":{"amount":{"$not":{"$gt":100}}}}"#));
        assert!(env(r#"{"data":{"$or":[{"currency":"USD"},{"paid":true}]}}"#));
        assert!(!env(r#"{"data":{"$or":[{"currency":"USD"},{"paid":false}]}}"#));
        assert!(env(r#"{"data":{"items":{"$or":[{"sku":"Z"},{"sku":"B"}]}}}"#));
        assert!(env(r#"{"$or":[{"data":{"$and":[{"paid":true},{"$not":{"currency":"USD"}}]}},{"event":"x"}]}"#));
        assert!(env(r#"{"data":{"tags":{"$not":{"$contains":"green"}}}}"#));
        assert!(!env(r#"{"data":{"tags":{"$not":{"$contains":"red"}}}}"#));
    }

    #[test]
    fn keys_with_special_characters() {
        assert!(env(r#"{"data":{"a/b":1,"t~x":2}}"#));
        assert!(!env(r#"{"data":{"a/b":2}}"#));
    }

    #[test]
    fn document_reused_and_invalid_documents() {
        let doc = Document::parse(ENVELOPE).unwrap();
        assert!(Filter::parse(r#"{"event":"order.created"}"#).unwrap().matches(&doc));
        assert!(!Filter::parse(r#"{"event":"x"}"#).unwrap().matches(&doc));
        assert!(Document::parse("{").is_none());
        let any = Filter::parse("{}").unwrap();
        assert!(!any.matches_text("{"));
        assert!(!any.matches_text("not json"));
        assert!(!any.matches_text("[1]"));
        assert!(any.matches_text(r#"{"x":1}"#));
    }

    #[test]
    fn from_value() {
        let f = Filter::from_value(&json!({"data": {"amount": {"$gte": 250}}})).unwrap();
        assert!(f.matches_text(ENVELOPE));
        let e = Filter::from_value(&json!({"data": {"amount": {"$gt": [1]}}})).unwrap_err();
        assert_eq!(e.pointer, "/data/amount/$gt");
        assert!(Filter::from_value(&json!([1])).is_err());
    }

    // --- Validation ---

    #[test]
    fn top_level_must_be_an_object() {
        for s in ["[]", "1", "\"x\"", "null", "true"] {
            assert_eq!(err(s), (String::new(), "a filter must be a JSON object".to_string()), "{s}");
        }
        assert_eq!(err("{"), (String::new(), "not valid JSON".to_string()));
        assert_eq!(err(""), (String::new(), "not valid JSON".to_string()));
    }

    #[test]
    fn unknown_operator() {
        assert_eq!(err(r#"{"a":{"$foo":1}}"#), ("/a/$foo".to_string(), "unknown operator $foo".to_string()));
        assert_eq!(ptr(r#"{"$where":"1"}"#), "/$where");
        assert_eq!(ptr(r#"{"$ne":1}"#), "/$ne");
    }

    #[test]
    fn mixing_operators_and_fields() {
        let (p, msg) = err(r#"{"data":{"amount":{"$gt":1,"x":2}}}"#);
        assert_eq!(p, "/data/amount");
        assert!(msg.contains("mix"), "{msg}");
        assert_eq!(ptr(r#"{"$or":[{"a":1}],"a":1}"#), "");
    }

    #[test]
    fn wrong_operand_kinds() {
        let cases = [
            (r#"{"data":{"amount":{"$gt":{}}}}"#, "/data/amount/$gt", "$gt needs a number or a string"),
            (r#"{"a":{"$gte":[1]}}"#, "/a/$gte", "$gte needs a number or a string"),
            (r#"{"a":{"$lt":true}}"#, "/a/$lt", "$lt needs a number or a string"),
            (r#"{"a":{"$lte":null}}"#, "/a/$lte", "$lte needs a number or a string"),
            (r#"{"a":{"$in":"x"}}"#, "/a/$in", "$in needs an array"),
            (r#"{"a":{"$nin":{}}}"#, "/a/$nin", "$nin needs an array"),
            (r#"{"a":{"$exists":1}}"#, "/a/$exists", "$exists needs true or false"),
            (r#"{"a":{"$exists":"true"}}"#, "/a/$exists", "$exists needs true or false"),
            (r#"{"a":{"$startsWith":1}}"#, "/a/$startsWith", "$startsWith needs a string"),
            (r#"{"a":{"$endsWith":["x"]}}"#, "/a/$endsWith", "$endsWith needs a string"),
            (r#"{"$or":[]}"#, "/$or", "$or needs a non-empty array of filters"),
            (r#"{"$or":{}}"#, "/$or", "$or needs a non-empty array of filters"),
            (r#"{"$and":"x"}"#, "/$and", "$and needs a non-empty array of filters"),
            (r#"{"$or":[{},1]}"#, "/$or/1", "each $or entry must be an object"),
            (r#"{"a":{"$and":[[]]}}"#, "/a/$and/0", "each $and entry must be an object"),
            (r#"{"$not":[{}]}"#, "/$not", "$not needs a filter object"),
            (r#"{"a":{"$not":"x"}}"#, "/a/$not", "$not needs a filter object"),
        ];
        for (filter, pointer, message) in cases {
            assert_eq!(err(filter), (pointer.to_string(), message.to_string()), "{filter}");
        }
    }

    #[test]
    fn errors_inside_logical_operators() {
        assert_eq!(ptr(r#"{"$or":[{"a":1},{"b":{"$gt":[]}}]}"#), "/$or/1/b/$gt");
        assert_eq!(ptr(r#"{"$and":[{"a":{"$bad":1}}]}"#), "/$and/0/a/$bad");
        assert_eq!(ptr(r#"{"$not":{"a":{"$in":1}}}"#), "/$not/a/$in");
        assert_eq!(ptr(r#"{"a":{"$not":{"$not":{"$exists":null}}}}"#), "/a/$not/$not/$exists");
    }

    #[test]
    fn pointer_escaping() {
        assert_eq!(ptr(r#"{"a/b":{"$gt":{}}}"#), "/a~1b/$gt");
        assert_eq!(ptr(r#"{"a~b":{"$gt":{}}}"#), "/a~0b/$gt");
        assert_eq!(ptr(r#"{"~/":{"x":{"$in":1}}}"#), "/~0~1/x/$in");
        assert_eq!(ptr(r#"{"":{"$in":1}}"#), "//$in");
    }

    #[test]
    fn literal_operands_are_data() {
        // `$` keys inside operands and literal arrays are values, not operators.
        assert!(m(r#"{"a":{"$eq":{"$foo":1}}}"#, r#"{"a":{"$foo":1}}"#));
        assert!(m(r#"{"a":[{"$foo":1}]}"#, r#"{"a":[{"$foo":1}]}"#));
        assert!(m(r#"{"a":{"$in":[{"$x":1,"y":2}]}}"#, r#"{"a":{"y":2,"$x":1}}"#));
    }

    #[test]
    fn size_limit() {
        let pad = |n: usize| format!(r#"{{"a":"{}"}}"#, "x".repeat(n - 8));
        assert_eq!(pad(4096).len(), 4096);
        assert!(Filter::parse(&pad(4096)).is_ok());
        assert_eq!(err(&pad(4097)), (String::new(), "over 4096 bytes".to_string()));
        // Whitespace counts: the limit is on the text as given.
        let spaced = format!("{}{{}}", " ".repeat(4095));
        assert_eq!(ptr(&spaced), "");
        let big = json!({"a": "x".repeat(5000)});
        assert_eq!(Filter::from_value(&big).unwrap_err().message, "over 4096 bytes");
    }

    #[test]
    fn depth_limit() {
        let nested = |n: usize| format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
        assert!(Filter::parse(&nested(8)).is_ok());
        assert!(m(&nested(8), &nested(8)));
        assert_eq!(err(&nested(9)), ("/a/a/a/a/a/a/a/a".to_string(), "nested deeper than 8 levels".to_string()));
        // Arrays count as levels too.
        assert!(Filter::parse(r#"{"a":{"b":{"c":{"d":{"e":{"f":{"$in":[1]}}}}}}}"#).is_ok());
        assert_eq!(ptr(r#"{"a":{"b":{"c":{"d":{"e":{"f":{"$in":[[1]]}}}}}}}"#), "/a/b/c/d/e/f/$in/0");
        assert_eq!(ptr(r#"{"$or":[{"a":{"b":{"c":{"d":{"e":{"f":{}}}}}}}]}"#), "/$or/0/a/b/c/d/e/f");
        // Far deeper than the parser goes: still the depth error, for the whole filter.
        let very = format!("{{\"a\":{}{}}}", "[".repeat(1000), "]".repeat(1000));
        assert_eq!(err(&very), (String::new(), "nested deeper than 8 levels".to_string()));
        // The depth check comes before operator validation.
        assert_eq!(ptr(r#"{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"$bad":[[1]]}}}}}}}}"#), "/a/b/c/d/e/f/g/$bad");
    }

    #[test]
    fn error_displays_message() {
        let e = Filter::parse(r#"{"a":{"$foo":1}}"#).unwrap_err();
        assert_eq!(e.to_string(), "unknown operator $foo");
    }
}
