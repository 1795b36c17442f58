//! Builds the body of a delivery once (docs/api.md §6): the envelope or flat tree, as JSON or XML.
//!
//! The event's `data` comes in as the exact JSON text the client sent ([`RawValue`]) and is
//! walked one level at a time as raw text, never through `f64`: numbers of any size or
//! precision come out digit for digit, and any nesting serde_json accepts is kept.
//!
//! **JSON.** Envelope: `id`, `event`, `timestamp` (RFC 3339, ms), `project_id`, `client_id`,
//! `data` (byte for byte as sent), then the custom parameters. Flat: `client_id`, `project_id`,
//! `session_id`, `event_type`, `event_timestamp` (float epoch seconds), then the custom
//! parameters, then `data`'s top-level members. Custom parameters never replace the fixed keys;
//! in the flat shape a data member replaces a custom parameter of the same name (but never a
//! fixed key). Members are merged as JavaScript's object spread does: a repeated name keeps the
//! position of its first occurrence and the value of its last, also for names repeated inside
//! `data` (JSON allows them; the envelope's `data` still carries them verbatim).
//!
//! **XML.** `<?xml version="1.0" encoding="UTF-8"?>`, root `<webhook>`, one element per member in
//! order. Objects become nested elements (repeated names merged as above), arrays one `<item>`
//! element per entry, strings text, numbers their JSON text digit for digit, `true`/`false`
//! text, null an empty element (`<k/>`). Element names are the keys mapped to XML 1.0 names:
//! - a character is kept where both XML 1.0 editions allow it: the 5th edition's `NameStartChar`
//!   / `NameChar` productions, and the 4th edition's Appendix B classes (`Letter | '_'` to start,
//!   `NameChar` after), because parsers still built on the older tables, expat (Python's XML
//!   modules) among them, reject a whole document over a name only the 5th edition allows
//!   (`Ͱ`, `😀`);
//! - every other character, `:` included (no namespaces), becomes `_`;
//! - a name that does not start with a start character, or starts with `xml` in any case, gets a
//!   leading `_`; the empty key becomes `_`.
//!
//! So `a b` → `a_b`, `a:b` → `a_b`, `1st` → `_1st`, `xmlfoo` → `_xmlfoo`, `µ` → `_`,
//! `ª²¼` → `___`, `café` → `café`. Distinct keys can map to one name; their elements stay apart.
//! Text drops every character XML 1.0 cannot carry (outside `#x9 | #xA | #xD | [#x20-#xD7FF] |
//! [#xE000-#xFFFD] | [#x10000-#x10FFFF]`: NUL and other C0 controls, U+FFFE, U+FFFF); quick-xml
//! escapes markup and writes `\r` as `&#13;`, which parsers would otherwise read back as `\n`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use indexmap::IndexMap;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde::Serialize;
use serde_json::value::{to_raw_value, RawValue};

use crate::clock::{epoch_seconds, rfc3339};
use crate::model::{ContentType, PayloadFormat};

/// Everything a payload is made of, independent of how events and webhooks are stored.
#[derive(Debug, Clone, Copy)]
pub struct PayloadSource<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    /// When the event was received, epoch milliseconds.
    pub received_at_ms: u64,
    pub project_id: u64,
    pub client_id: Option<i64>,
    pub session_id: Option<&'a str>,
    /// A JSON object, exactly as the client sent it.
    pub data: &'a RawValue,
    pub custom_parameters: &'a BTreeMap<String, String>,
    pub format: PayloadFormat,
    pub content_type: ContentType,
}

/// The bytes sent (and signed) and their media type.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub body: Vec<u8>,
    pub content_type: &'static str,
}

/// The body of one delivery of `src`, serialized once.
pub fn build(src: &PayloadSource<'_>) -> Payload {
    // Data is sent as it came, except where it must be read as strings (flat keys, XML):
    // there a lone surrogate escape, which no Rust string holds, is dropped.
    // The JSON envelope copies the text as it is, so it does not even scan it.
    let as_is = matches!((src.content_type, src.format), (ContentType::Json, PayloadFormat::Envelope));
    let readable = if as_is { None } else { without_lone_surrogates(src.data.get()) }
        .map(|clean| RawValue::from_string(clean).expect("dropping escapes keeps JSON valid"));
    let data = readable.as_deref().unwrap_or(src.data);
    let members = members(src, data);
    match src.content_type {
        ContentType::Json => Payload {
            body: serde_json::to_vec(&members).expect("names and raw JSON values always serialize"),
            content_type: "application/json",
        },
        ContentType::Xml => Payload { body: to_xml(&members, data.get().len()), content_type: "application/xml" },
    }
}

/// A transformation's output (a JSON object's text, docs/api.md §15) in the webhook's content
/// type: the JSON as it is, or the XML document of the same rules as any payload.
pub fn render(object: &str, content_type: ContentType) -> Payload {
    match content_type {
        ContentType::Json => Payload { body: object.as_bytes().to_vec(), content_type: "application/json" },
        ContentType::Xml => {
            let clean = without_lone_surrogates(object);
            let text = clean.as_deref().unwrap_or(object);
            let members: Members<'_> = match serde_json::from_str::<&RawValue>(text).map(Node::of) {
                Ok(Node::Object(m)) => m.into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Borrowed(v))).collect(),
                // The output was checked to be an object; anything else has no members.
                _ => Members::new(),
            };
            Payload { body: to_xml(&members, text.len()), content_type: "application/xml" }
        }
    }
}

/// `text` (valid JSON) without its unpaired `\uD800`–`\uDFFF` escapes, or `None` when it
/// has none. JSON allows them; UTF-8 strings, and so XML, cannot hold them.
fn without_lone_surrogates(text: &str) -> Option<String> {
    if !text.contains("\\u") {
        return None;
    }
    let b = text.as_bytes();
    let surrogate = |at: usize| -> Option<u16> {
        let hex = text.get(at + 2..at + 6)?;
        let v = u16::from_str_radix(hex, 16).ok()?;
        (b.get(at + 1) == Some(&b'u') && (0xD800..=0xDFFF).contains(&v)).then_some(v)
    };
    let mut out = String::with_capacity(text.len());
    let (mut i, mut kept_from, mut changed) = (0, 0, false);
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        match surrogate(i) {
            // A high surrogate followed by a low one is a character: keep the pair.
            Some(0xD800..=0xDBFF) if surrogate(i + 6).is_some_and(|low| low >= 0xDC00) => i += 12,
            Some(_) => {
                out.push_str(&text[kept_from..i]);
                i += 6;
                kept_from = i;
                changed = true;
            }
            // Any other escape is two characters, or `\uXXXX` outside the range: skip
            // the escaped character so an escaped backslash is never read as a new escape.
            None => i += 2,
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[kept_from..]);
    Some(out)
}

/// The payload's top-level members in order, each value as JSON text.
type Members<'a> = IndexMap<Cow<'a, str>, Cow<'a, RawValue>>;

const FLAT_KEYS: [&str; 5] = ["client_id", "project_id", "session_id", "event_type", "event_timestamp"];

fn members<'a>(src: &PayloadSource<'a>, data: &'a RawValue) -> Members<'a> {
    let mut out = Members::with_capacity(8 + src.custom_parameters.len());
    match src.format {
        PayloadFormat::Envelope => {
            out.insert("id".into(), json(src.event_id));
            out.insert("event".into(), json(src.event_type));
            out.insert("timestamp".into(), json(&rfc3339(src.received_at_ms)));
            out.insert("project_id".into(), json(&src.project_id));
            out.insert("client_id".into(), json(&src.client_id));
            out.insert("data".into(), Cow::Borrowed(data));
            add_custom_parameters(&mut out, src.custom_parameters);
        }
        PayloadFormat::Flat => {
            out.insert("client_id".into(), json(&src.client_id));
            out.insert("project_id".into(), json(&src.project_id));
            out.insert("session_id".into(), json(&src.session_id));
            out.insert("event_type".into(), json(src.event_type));
            out.insert("event_timestamp".into(), json(&epoch_seconds(src.received_at_ms)));
            add_custom_parameters(&mut out, src.custom_parameters);
            if let Node::Object(members) = Node::of(data) {
                for (name, value) in members {
                    if !FLAT_KEYS.contains(&name.as_str()) {
                        // `insert` keeps the position of a custom parameter it replaces.
                        out.insert(name.into(), Cow::Borrowed(value));
                    }
                }
            }
        }
    }
    out
}

/// Custom parameters come after the fixed keys and never replace them.
fn add_custom_parameters<'a>(out: &mut Members<'a>, params: &'a BTreeMap<String, String>) {
    for (name, value) in params {
        out.entry(name.as_str().into()).or_insert_with(|| json(value.as_str()));
    }
}

fn json<T: Serialize + ?Sized>(value: &T) -> Cow<'static, RawValue> {
    Cow::Owned(to_raw_value(value).expect("strings and numbers always serialize"))
}

/// A JSON value seen one level deep: its children stay raw text, so numbers keep their digits.
enum Node<'a> {
    Null,
    /// A number, `true` or `false`, as its JSON text.
    Scalar(&'a str),
    String(String),
    Array(Vec<&'a RawValue>),
    /// Repeated names: the last value, at the first one's position (`IndexMap::insert`).
    Object(IndexMap<String, &'a RawValue>),
}

impl<'a> Node<'a> {
    fn of(raw: &'a RawValue) -> Node<'a> {
        let text = raw.get().trim_matches([' ', '\t', '\n', '\r']);
        let parsed = match text.as_bytes().first() {
            Some(b'n') => Ok(Node::Null),
            Some(b'"') => serde_json::from_str(text).map(Node::String),
            Some(b'[') => serde_json::from_str(text).map(Node::Array),
            Some(b'{') => serde_json::from_str(text).map(Node::Object),
            _ => Ok(Node::Scalar(text)),
        };
        // A RawValue is valid JSON within serde_json's nesting limit, and each child is
        // shallower than its parent, so this cannot fail; if it did, the text is still delivered.
        parsed.unwrap_or(Node::Scalar(text))
    }
}

fn to_xml(members: &Members<'_>, data_len: usize) -> Vec<u8> {
    let mut w = Writer::new(Vec::with_capacity(256 + data_len * 2));
    put(&mut w, Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    put(&mut w, Event::Start(BytesStart::new("webhook")));
    for (name, value) in members {
        element(&mut w, &element_name(name), value);
    }
    put(&mut w, Event::End(BytesEnd::new("webhook")));
    w.into_inner()
}

fn put(w: &mut Writer<Vec<u8>>, event: Event<'_>) {
    w.write_event(event).expect("writing to a Vec cannot fail");
}

fn element(w: &mut Writer<Vec<u8>>, name: &str, value: &RawValue) {
    let node = Node::of(value);
    if let Node::Null = node {
        return put(w, Event::Empty(BytesStart::new(name)));
    }
    put(w, Event::Start(BytesStart::new(name)));
    match node {
        Node::Null => {}
        Node::Scalar(text) => xml_text(w, text),
        Node::String(text) => xml_text(w, &text),
        Node::Array(items) => items.into_iter().for_each(|item| element(w, "item", item)),
        Node::Object(members) => members.into_iter().for_each(|(k, v)| element(w, &element_name(&k), v)),
    }
    put(w, Event::End(BytesEnd::new(name)));
}

/// Text without the characters XML cannot carry; quick-xml escapes markup and `\r`.
fn xml_text(w: &mut Writer<Vec<u8>>, text: &str) {
    if text.chars().all(is_xml_char) {
        put(w, Event::Text(BytesText::new(text)));
    } else {
        let kept: String = text.chars().filter(|&c| is_xml_char(c)).collect();
        put(w, Event::Text(BytesText::new(&kept)));
    }
}

/// XML 1.0's `Char` production (surrogates are not `char`s).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Where a character stands in a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NamePosition {
    Start,
    Rest,
}

/// The element name for a JSON key (see the module doc).
fn element_name(key: &str) -> Cow<'_, str> {
    let starts_with_xml = |name: &str| name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("xml"));
    let first_ok = key.chars().next().is_some_and(|c| name_char(c, NamePosition::Start));
    if first_ok && !starts_with_xml(key) && key.chars().all(|c| name_char(c, NamePosition::Rest)) {
        return Cow::Borrowed(key);
    }
    let mut name: String = key.chars().map(|c| if name_char(c, NamePosition::Rest) { c } else { '_' }).collect();
    if !name.chars().next().is_some_and(|c| name_char(c, NamePosition::Start)) || starts_with_xml(&name) {
        name.insert(0, '_');
    }
    Cow::Owned(name)
}

/// Allowed at `pos` by both editions of XML 1.0, never `:`.
fn name_char(c: char, pos: NamePosition) -> bool {
    fifth_edition_name_char(c, pos) && fourth_edition_name_char(c, pos)
}

/// XML 1.0 5th edition, productions [4] and [4a], without `:`.
fn fifth_edition_name_char(c: char, pos: NamePosition) -> bool {
    let start = matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}');
    start
        || (pos == NamePosition::Rest
            && matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}'))
}

/// XML 1.0 4th edition, Appendix B: `Letter | '_'` starts a name (`:` left out), and
/// `Digit | '.' | '-' | CombiningChar | Extender` may follow.
fn fourth_edition_name_char(c: char, pos: NamePosition) -> bool {
    in_ranges(LETTERS_4E, c) || (pos == NamePosition::Rest && in_ranges(NAME_ONLY_4E, c))
}

fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

// The character classes of XML 1.0 4th edition, Appendix B
// (https://www.w3.org/TR/2006/REC-xml-20060816/#CharClasses), as sorted, disjoint ranges.
// Non-ASCII entries were read off expat 2.5 (which implements these classes) for every code
// point, and checked against the Appendix.
/// `BaseChar | Ideographic | '_'`.
#[rustfmt::skip]
const LETTERS_4E: &[(char, char)] = &[
    ('A', 'Z'), ('_', '_'), ('a', 'z'), ('\u{C0}', '\u{D6}'), ('\u{D8}', '\u{F6}'), ('\u{F8}', '\u{131}'),
    ('\u{134}', '\u{13E}'), ('\u{141}', '\u{148}'), ('\u{14A}', '\u{17E}'), ('\u{180}', '\u{1C3}'),
    ('\u{1CD}', '\u{1F0}'), ('\u{1F4}', '\u{1F5}'), ('\u{1FA}', '\u{217}'), ('\u{250}', '\u{2A8}'),
    ('\u{2BB}', '\u{2C1}'), ('\u{386}', '\u{386}'), ('\u{388}', '\u{38A}'), ('\u{38C}', '\u{38C}'),
    ('\u{38E}', '\u{3A1}'), ('\u{3A3}', '\u{3CE}'), ('\u{3D0}', '\u{3D6}'), ('\u{3DA}', '\u{3DA}'),
    ('\u{3DC}', '\u{3DC}'), ('\u{3DE}', '\u{3DE}'), ('\u{3E0}', '\u{3E0}'), ('\u{3E2}', '\u{3F3}'),
    ('\u{401}', '\u{40C}'), ('\u{40E}', '\u{44F}'), ('\u{451}', '\u{45C}'), ('\u{45E}', '\u{481}'),
    ('\u{490}', '\u{4C4}'), ('\u{4C7}', '\u{4C8}'), ('\u{4CB}', '\u{4CC}'), ('\u{4D0}', '\u{4EB}'),
    ('\u{4EE}', '\u{4F5}'), ('\u{4F8}', '\u{4F9}'), ('\u{531}', '\u{556}'), ('\u{559}', '\u{559}'),
    ('\u{561}', '\u{586}'), ('\u{5D0}', '\u{5EA}'), ('\u{5F0}', '\u{5F2}'), ('\u{621}', '\u{63A}'),
    ('\u{641}', '\u{64A}'), ('\u{671}', '\u{6B7}'), ('\u{6BA}', '\u{6BE}'), ('\u{6C0}', '\u{6CE}'),
    ('\u{6D0}', '\u{6D3}'), ('\u{6D5}', '\u{6D5}'), ('\u{6E5}', '\u{6E6}'), ('\u{905}', '\u{939}'),
    ('\u{93D}', '\u{93D}'), ('\u{958}', '\u{961}'), ('\u{985}', '\u{98C}'), ('\u{98F}', '\u{990}'),
    ('\u{993}', '\u{9A8}'), ('\u{9AA}', '\u{9B0}'), ('\u{9B2}', '\u{9B2}'), ('\u{9B6}', '\u{9B9}'),
    ('\u{9DC}', '\u{9DD}'), ('\u{9DF}', '\u{9E1}'), ('\u{9F0}', '\u{9F1}'), ('\u{A05}', '\u{A0A}'),
    ('\u{A0F}', '\u{A10}'), ('\u{A13}', '\u{A28}'), ('\u{A2A}', '\u{A30}'), ('\u{A32}', '\u{A33}'),
    ('\u{A35}', '\u{A36}'), ('\u{A38}', '\u{A39}'), ('\u{A59}', '\u{A5C}'), ('\u{A5E}', '\u{A5E}'),
    ('\u{A72}', '\u{A74}'), ('\u{A85}', '\u{A8B}'), ('\u{A8D}', '\u{A8D}'), ('\u{A8F}', '\u{A91}'),
    ('\u{A93}', '\u{AA8}'), ('\u{AAA}', '\u{AB0}'), ('\u{AB2}', '\u{AB3}'), ('\u{AB5}', '\u{AB9}'),
    ('\u{ABD}', '\u{ABD}'), ('\u{AE0}', '\u{AE0}'), ('\u{B05}', '\u{B0C}'), ('\u{B0F}', '\u{B10}'),
    ('\u{B13}', '\u{B28}'), ('\u{B2A}', '\u{B30}'), ('\u{B32}', '\u{B33}'), ('\u{B36}', '\u{B39}'),
    ('\u{B3D}', '\u{B3D}'), ('\u{B5C}', '\u{B5D}'), ('\u{B5F}', '\u{B61}'), ('\u{B85}', '\u{B8A}'),
    ('\u{B8E}', '\u{B90}'), ('\u{B92}', '\u{B95}'), ('\u{B99}', '\u{B9A}'), ('\u{B9C}', '\u{B9C}'),
    ('\u{B9E}', '\u{B9F}'), ('\u{BA3}', '\u{BA4}'), ('\u{BA8}', '\u{BAA}'), ('\u{BAE}', '\u{BB5}'),
    ('\u{BB7}', '\u{BB9}'), ('\u{C05}', '\u{C0C}'), ('\u{C0E}', '\u{C10}'), ('\u{C12}', '\u{C28}'),
    ('\u{C2A}', '\u{C33}'), ('\u{C35}', '\u{C39}'), ('\u{C60}', '\u{C61}'), ('\u{C85}', '\u{C8C}'),
    ('\u{C8E}', '\u{C90}'), ('\u{C92}', '\u{CA8}'), ('\u{CAA}', '\u{CB3}'), ('\u{CB5}', '\u{CB9}'),
    ('\u{CDE}', '\u{CDE}'), ('\u{CE0}', '\u{CE1}'), ('\u{D05}', '\u{D0C}'), ('\u{D0E}', '\u{D10}'),
    ('\u{D12}', '\u{D28}'), ('\u{D2A}', '\u{D39}'), ('\u{D60}', '\u{D61}'), ('\u{E01}', '\u{E2E}'),
    ('\u{E30}', '\u{E30}'), ('\u{E32}', '\u{E33}'), ('\u{E40}', '\u{E45}'), ('\u{E81}', '\u{E82}'),
    ('\u{E84}', '\u{E84}'), ('\u{E87}', '\u{E88}'), ('\u{E8A}', '\u{E8A}'), ('\u{E8D}', '\u{E8D}'),
    ('\u{E94}', '\u{E97}'), ('\u{E99}', '\u{E9F}'), ('\u{EA1}', '\u{EA3}'), ('\u{EA5}', '\u{EA5}'),
    ('\u{EA7}', '\u{EA7}'), ('\u{EAA}', '\u{EAB}'), ('\u{EAD}', '\u{EAE}'), ('\u{EB0}', '\u{EB0}'),
    ('\u{EB2}', '\u{EB3}'), ('\u{EBD}', '\u{EBD}'), ('\u{EC0}', '\u{EC4}'), ('\u{F40}', '\u{F47}'),
    ('\u{F49}', '\u{F69}'), ('\u{10A0}', '\u{10C5}'), ('\u{10D0}', '\u{10F6}'), ('\u{1100}', '\u{1100}'),
    ('\u{1102}', '\u{1103}'), ('\u{1105}', '\u{1107}'), ('\u{1109}', '\u{1109}'), ('\u{110B}', '\u{110C}'),
    ('\u{110E}', '\u{1112}'), ('\u{113C}', '\u{113C}'), ('\u{113E}', '\u{113E}'), ('\u{1140}', '\u{1140}'),
    ('\u{114C}', '\u{114C}'), ('\u{114E}', '\u{114E}'), ('\u{1150}', '\u{1150}'), ('\u{1154}', '\u{1155}'),
    ('\u{1159}', '\u{1159}'), ('\u{115F}', '\u{1161}'), ('\u{1163}', '\u{1163}'), ('\u{1165}', '\u{1165}'),
    ('\u{1167}', '\u{1167}'), ('\u{1169}', '\u{1169}'), ('\u{116D}', '\u{116E}'), ('\u{1172}', '\u{1173}'),
    ('\u{1175}', '\u{1175}'), ('\u{119E}', '\u{119E}'), ('\u{11A8}', '\u{11A8}'), ('\u{11AB}', '\u{11AB}'),
    ('\u{11AE}', '\u{11AF}'), ('\u{11B7}', '\u{11B8}'), ('\u{11BA}', '\u{11BA}'), ('\u{11BC}', '\u{11C2}'),
    ('\u{11EB}', '\u{11EB}'), ('\u{11F0}', '\u{11F0}'), ('\u{11F9}', '\u{11F9}'), ('\u{1E00}', '\u{1E9B}'),
    ('\u{1EA0}', '\u{1EF9}'), ('\u{1F00}', '\u{1F15}'), ('\u{1F18}', '\u{1F1D}'), ('\u{1F20}', '\u{1F45}'),
    ('\u{1F48}', '\u{1F4D}'), ('\u{1F50}', '\u{1F57}'), ('\u{1F59}', '\u{1F59}'), ('\u{1F5B}', '\u{1F5B}'),
    ('\u{1F5D}', '\u{1F5D}'), ('\u{1F5F}', '\u{1F7D}'), ('\u{1F80}', '\u{1FB4}'), ('\u{1FB6}', '\u{1FBC}'),
    ('\u{1FBE}', '\u{1FBE}'), ('\u{1FC2}', '\u{1FC4}'), ('\u{1FC6}', '\u{1FCC}'), ('\u{1FD0}', '\u{1FD3}'),
    ('\u{1FD6}', '\u{1FDB}'), ('\u{1FE0}', '\u{1FEC}'), ('\u{1FF2}', '\u{1FF4}'), ('\u{1FF6}', '\u{1FFC}'),
    ('\u{2126}', '\u{2126}'), ('\u{212A}', '\u{212B}'), ('\u{212E}', '\u{212E}'), ('\u{2180}', '\u{2182}'),
    ('\u{3007}', '\u{3007}'), ('\u{3021}', '\u{3029}'), ('\u{3041}', '\u{3094}'), ('\u{30A1}', '\u{30FA}'),
    ('\u{3105}', '\u{312C}'), ('\u{4E00}', '\u{9FA5}'), ('\u{AC00}', '\u{D7A3}'),
];

/// `Digit | '.' | '-' | CombiningChar | Extender`.
#[rustfmt::skip]
const NAME_ONLY_4E: &[(char, char)] = &[
    ('-', '.'), ('0', '9'), ('\u{B7}', '\u{B7}'), ('\u{2D0}', '\u{2D1}'), ('\u{300}', '\u{345}'),
    ('\u{360}', '\u{361}'), ('\u{387}', '\u{387}'), ('\u{483}', '\u{486}'), ('\u{591}', '\u{5A1}'),
    ('\u{5A3}', '\u{5B9}'), ('\u{5BB}', '\u{5BD}'), ('\u{5BF}', '\u{5BF}'), ('\u{5C1}', '\u{5C2}'),
    ('\u{5C4}', '\u{5C4}'), ('\u{640}', '\u{640}'), ('\u{64B}', '\u{652}'), ('\u{660}', '\u{669}'),
    ('\u{670}', '\u{670}'), ('\u{6D6}', '\u{6E4}'), ('\u{6E7}', '\u{6E8}'), ('\u{6EA}', '\u{6ED}'),
    ('\u{6F0}', '\u{6F9}'), ('\u{901}', '\u{903}'), ('\u{93C}', '\u{93C}'), ('\u{93E}', '\u{94D}'),
    ('\u{951}', '\u{954}'), ('\u{962}', '\u{963}'), ('\u{966}', '\u{96F}'), ('\u{981}', '\u{983}'),
    ('\u{9BC}', '\u{9BC}'), ('\u{9BE}', '\u{9C4}'), ('\u{9C7}', '\u{9C8}'), ('\u{9CB}', '\u{9CD}'),
    ('\u{9D7}', '\u{9D7}'), ('\u{9E2}', '\u{9E3}'), ('\u{9E6}', '\u{9EF}'), ('\u{A02}', '\u{A02}'),
    ('\u{A3C}', '\u{A3C}'), ('\u{A3E}', '\u{A42}'), ('\u{A47}', '\u{A48}'), ('\u{A4B}', '\u{A4D}'),
    ('\u{A66}', '\u{A71}'), ('\u{A81}', '\u{A83}'), ('\u{ABC}', '\u{ABC}'), ('\u{ABE}', '\u{AC5}'),
    ('\u{AC7}', '\u{AC9}'), ('\u{ACB}', '\u{ACD}'), ('\u{AE6}', '\u{AEF}'), ('\u{B01}', '\u{B03}'),
    ('\u{B3C}', '\u{B3C}'), ('\u{B3E}', '\u{B43}'), ('\u{B47}', '\u{B48}'), ('\u{B4B}', '\u{B4D}'),
    ('\u{B56}', '\u{B57}'), ('\u{B66}', '\u{B6F}'), ('\u{B82}', '\u{B83}'), ('\u{BBE}', '\u{BC2}'),
    ('\u{BC6}', '\u{BC8}'), ('\u{BCA}', '\u{BCD}'), ('\u{BD7}', '\u{BD7}'), ('\u{BE7}', '\u{BEF}'),
    ('\u{C01}', '\u{C03}'), ('\u{C3E}', '\u{C44}'), ('\u{C46}', '\u{C48}'), ('\u{C4A}', '\u{C4D}'),
    ('\u{C55}', '\u{C56}'), ('\u{C66}', '\u{C6F}'), ('\u{C82}', '\u{C83}'), ('\u{CBE}', '\u{CC4}'),
    ('\u{CC6}', '\u{CC8}'), ('\u{CCA}', '\u{CCD}'), ('\u{CD5}', '\u{CD6}'), ('\u{CE6}', '\u{CEF}'),
    ('\u{D02}', '\u{D03}'), ('\u{D3E}', '\u{D43}'), ('\u{D46}', '\u{D48}'), ('\u{D4A}', '\u{D4D}'),
    ('\u{D57}', '\u{D57}'), ('\u{D66}', '\u{D6F}'), ('\u{E31}', '\u{E31}'), ('\u{E34}', '\u{E3A}'),
    ('\u{E46}', '\u{E4E}'), ('\u{E50}', '\u{E59}'), ('\u{EB1}', '\u{EB1}'), ('\u{EB4}', '\u{EB9}'),
    ('\u{EBB}', '\u{EBC}'), ('\u{EC6}', '\u{EC6}'), ('\u{EC8}', '\u{ECD}'), ('\u{ED0}', '\u{ED9}'),
    ('\u{F18}', '\u{F19}'), ('\u{F20}', '\u{F29}'), ('\u{F35}', '\u{F35}'), ('\u{F37}', '\u{F37}'),
    ('\u{F39}', '\u{F39}'), ('\u{F3E}', '\u{F3F}'), ('\u{F71}', '\u{F84}'), ('\u{F86}', '\u{F8B}'),
    ('\u{F90}', '\u{F95}'), ('\u{F97}', '\u{F97}'), ('\u{F99}', '\u{FAD}'), ('\u{FB1}', '\u{FB7}'),
    ('\u{FB9}', '\u{FB9}'), ('\u{20D0}', '\u{20DC}'), ('\u{20E1}', '\u{20E1}'), ('\u{3005}', '\u{3005}'),
    ('\u{302A}', '\u{302F}'), ('\u{3031}', '\u{3035}'), ('\u{3099}', '\u{309A}'), ('\u{309D}', '\u{309E}'),
    ('\u{30FC}', '\u{30FE}'),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn a_transformed_object_renders_in_either_content_type() {
        let out = r#"{"kind":"a.b","amount":123456789012345678901234567890.25,"tags":["x"],"none":null}"#;
        assert_eq!(render(out, ContentType::Json).body, out.as_bytes());
        let xml = String::from_utf8(render(out, ContentType::Xml).body).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><webhook><kind>a.b</kind>\
             <amount>123456789012345678901234567890.25</amount><tags><item>x</item></tags><none/></webhook>"
        );
    }

    const EVENT_ID: &str = "evt_01";
    const RECEIVED_AT: u64 = 1_512_624_088_977;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).unwrap()
    }

    fn source<'a>(
        data: &'a RawValue,
        custom_parameters: &'a BTreeMap<String, String>,
        format: PayloadFormat,
        content_type: ContentType,
    ) -> PayloadSource<'a> {
        PayloadSource {
            event_id: EVENT_ID,
            event_type: "submission.completed",
            received_at_ms: RECEIVED_AT,
            project_id: 1_249_918,
            client_id: Some(19_817_472),
            session_id: None,
            data,
            custom_parameters,
            format,
            content_type,
        }
    }

    fn region() -> BTreeMap<String, String> {
        BTreeMap::from([("region".to_string(), "eu".to_string())])
    }

    fn body(data: &str, params: &BTreeMap<String, String>, format: PayloadFormat, ct: ContentType) -> String {
        let data = raw(data);
        String::from_utf8(build(&source(&data, params, format, ct)).body).unwrap()
    }

    /// The top-level members of a JSON body, values as their exact text.
    fn json_members(body: &str) -> Vec<(String, String)> {
        let map: IndexMap<String, &RawValue> = serde_json::from_str(body).unwrap();
        map.into_iter().map(|(k, v)| (k, v.get().to_string())).collect()
    }

    /// The element children of an XML node.
    fn elements<'a, 'i>(node: roxmltree::Node<'a, 'i>) -> Vec<roxmltree::Node<'a, 'i>> {
        node.children().filter(|n| n.is_element()).collect()
    }

    /// All text directly inside an XML element.
    fn text_of(node: roxmltree::Node<'_, '_>) -> String {
        node.children().filter_map(|n| n.text()).collect()
    }

    fn xml_child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
        elements(node).into_iter().find(|n| n.tag_name().name() == name).unwrap_or_else(|| panic!("no <{name}>"))
    }

    #[test]
    fn envelope_shape() {
        let data = r#"{"submissionId": "sub_1", "project_id": 5,  "n": [1, 2]}"#;
        let b = body(data, &region(), PayloadFormat::Envelope, ContentType::Json);
        assert_eq!(
            serde_json::from_str::<Value>(&b).unwrap(),
            json!({"id": "evt_01", "event": "submission.completed", "timestamp": "2017-12-07T05:21:28.977Z",
                "project_id": 1_249_918, "client_id": 19_817_472,
                "data": {"submissionId": "sub_1", "project_id": 5, "n": [1, 2]}, "region": "eu"})
        );
        // Keys in the documented order, data byte for byte (its spacing included).
        assert!(b.starts_with(r#"{"id":"evt_01","event":"#));
        assert!(b.contains(&format!(r#","data":{data},"#)));
        let data = raw(data);
        assert_eq!(
            build(&source(&data, &region(), PayloadFormat::Envelope, ContentType::Json)).content_type,
            "application/json"
        );
    }

    #[test]
    fn custom_parameters_never_replace_envelope_keys() {
        let params = BTreeMap::from([
            ("id".to_string(), "forged".to_string()),
            ("data".to_string(), "forged".to_string()),
            ("client_id".to_string(), "forged".to_string()),
            ("zone".to_string(), "b".to_string()),
        ]);
        let b = body(r#"{"a":1}"#, &params, PayloadFormat::Envelope, ContentType::Json);
        let keys: Vec<String> = json_members(&b).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["id", "event", "timestamp", "project_id", "client_id", "data", "zone"]);
        assert!(b.starts_with(r#"{"id":"evt_01","#) && b.contains(r#""client_id":19817472,"data":{"a":1}"#));
    }

    #[test]
    fn flat_shape_never_lets_data_override_fixed_keys() {
        let data = r#"{"submissionId": "sub_1", "project_id": 5, "session_id": "x", "n": [1, 2]}"#;
        let b = body(data, &region(), PayloadFormat::Flat, ContentType::Json);
        assert_eq!(
            serde_json::from_str::<Value>(&b).unwrap(),
            json!({"client_id": 19_817_472, "project_id": 1_249_918, "session_id": null,
                "event_type": "submission.completed", "event_timestamp": 1_512_624_088.977,
                "region": "eu", "submissionId": "sub_1", "n": [1, 2]})
        );
        assert!(b.starts_with(r#"{"client_id":19817472,"project_id":1249918,"session_id":null,"#));
    }

    #[test]
    fn flat_data_replaces_custom_parameters_in_place_and_last_duplicate_wins() {
        let params = BTreeMap::from([("region".to_string(), "eu".to_string()), ("zone".to_string(), "a".to_string())]);
        let b = body(
            r#"{"x": 1, "zone": {"id": 7}, "x": [3], "y": null}"#,
            &params,
            PayloadFormat::Flat,
            ContentType::Json,
        );
        let members = json_members(&b);
        let tail: Vec<(&str, &str)> = members[5..].iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(tail, [("region", r#""eu""#), ("zone", r#"{"id": 7}"#), ("x", "[3]"), ("y", "null")]);
    }

    const NUMBERS: [&str; 8] = [
        "123456789012345678901234567890123456789012",
        "-123456789012345678901234567890123456789012",
        "1e400",
        "-1E-400",
        "-0.0",
        "-0",
        "0.1000000000000000000000000000000000000001",
        "3.14159265358979323846264338327950288419716939937510e-5",
    ];

    #[test]
    fn numbers_keep_every_digit_in_json_and_xml() {
        let data = format!(r#"{{"n": [{}], "big": {}}}"#, NUMBERS.join(", "), NUMBERS[0]);
        let envelope = body(&data, &region(), PayloadFormat::Envelope, ContentType::Json);
        assert!(envelope.contains(&format!(r#""data":{data}"#)));

        let flat = body(&data, &region(), PayloadFormat::Flat, ContentType::Json);
        let members = json_members(&flat);
        assert!(members.contains(&("n".to_string(), format!("[{}]", NUMBERS.join(", ")))));
        assert!(members.contains(&("big".to_string(), NUMBERS[0].to_string())));

        let xml = body(&data, &region(), PayloadFormat::Envelope, ContentType::Xml);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let d = xml_child(doc.root_element(), "data");
        let items: Vec<String> = elements(xml_child(d, "n")).into_iter().map(text_of).collect();
        assert_eq!(items, NUMBERS);
        assert_eq!(text_of(xml_child(d, "big")), NUMBERS[0]);
    }

    #[test]
    fn deep_nesting_is_kept() {
        for depth in [64, 120] {
            let data = format!(r#"{{"k":{}1{}}}"#, r#"{"a":["#.repeat(depth), "]}".repeat(depth));
            let envelope = body(&data, &region(), PayloadFormat::Envelope, ContentType::Json);
            assert!(envelope.contains(&format!(r#""data":{data}"#)));
            let flat = body(&data, &region(), PayloadFormat::Flat, ContentType::Json);
            assert_eq!(json_members(&flat)[6].1, data[5..data.len() - 1]);

            let xml = body(&data, &region(), PayloadFormat::Envelope, ContentType::Xml);
            let doc = roxmltree::Document::parse(&xml).unwrap();
            let mut node = xml_child(xml_child(doc.root_element(), "data"), "k");
            for _ in 0..depth {
                node = xml_child(xml_child(node, "a"), "item");
            }
            assert_eq!(text_of(node), "1");
        }
    }

    #[test]
    fn keys_map_to_names_every_xml_parser_accepts() {
        let cases = [
            ("µ", "_"),
            ("ª²¼", "___"),
            ("a\u{345}", "a\u{345}"),
            ("xmlfoo", "_xmlfoo"),
            ("XmLfoo", "_XmLfoo"),
            ("xm", "xm"),
            ("1st", "_1st"),
            ("", "_"),
            ("a:b", "a_b"),
            (":", "_"),
            ("a b", "a_b"),
            ("-x", "_-x"),
            ("·x", "_·x"),
            ("x·-.9", "x·-.9"),
            ("café", "café"),
            ("日本語", "日本語"),
            // Only the 5th edition allows these; expat would refuse the whole document.
            ("Ͱx", "_x"),
            ("x😀", "x_"),
            ("<&>", "___"),
        ];
        for (key, name) in cases {
            assert_eq!(element_name(key), name, "key {key:?}");
        }
        let data = serde_json::to_string(&cases.iter().map(|(k, _)| (*k, *k)).collect::<IndexMap<_, _>>()).unwrap();
        let xml = body(&data, &region(), PayloadFormat::Flat, ContentType::Xml);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let names: Vec<&str> = elements(doc.root_element()).iter().map(|n| n.tag_name().name()).collect();
        let expected: Vec<&str> = ["client_id", "project_id", "session_id", "event_type", "event_timestamp", "region"]
            .into_iter()
            .chain(cases.iter().map(|(_, n)| *n))
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn xml_text_drops_what_xml_cannot_carry_and_keeps_the_rest() {
        let data = json!({"s": "a\u{FFFE}b\u{FFFF}c\u{0}d\u{1}e\u{1F}f\tg\nh\ri\r\nj<&>\"'\u{FFFD}\u{10FFFF}\u{E000}"});
        let xml = body(&data.to_string(), &region(), PayloadFormat::Envelope, ContentType::Xml);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let s = xml_child(xml_child(doc.root_element(), "data"), "s");
        assert_eq!(text_of(s), "abcdef\tg\nh\ri\r\nj<&>\"'\u{FFFD}\u{10FFFF}\u{E000}");
    }

    #[test]
    fn lone_surrogate_escapes_are_dropped_where_data_is_read_as_text() {
        let data = r#"{"s": "\ud800a", "\udc00k": 1, "p": "\ud83d\ude00", "e": "\\ud800", "t": "\uDBFFz\u0041"}"#;
        let xml = body(data, &region(), PayloadFormat::Envelope, ContentType::Xml);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let d = xml_child(doc.root_element(), "data");
        assert_eq!(text_of(xml_child(d, "s")), "a");
        assert_eq!(text_of(xml_child(d, "k")), "1");
        assert_eq!(text_of(xml_child(d, "p")), "\u{1F600}", "a pair is one character");
        assert_eq!(text_of(xml_child(d, "e")), "\\ud800", "an escaped backslash is text");
        assert_eq!(text_of(xml_child(d, "t")), "zA");
        // Flat JSON reads the keys; the envelope sends the data exactly as it came.
        let flat = body(data, &region(), PayloadFormat::Flat, ContentType::Json);
        assert!(json_members(&flat).contains(&("k".to_string(), "1".to_string())), "{flat}");
        let envelope = body(data, &region(), PayloadFormat::Envelope, ContentType::Json);
        assert!(envelope.contains(data), "{envelope}");
        assert_eq!(without_lone_surrogates(r#"{"a": "\\udc00", "b": "\u00e9"}"#), None);
    }

    #[test]
    fn xml_shape() {
        let data = r#"{"a b": "<&>", "list": [1, {"x": null}, []], "1st": true, "e": ""}"#;
        let b = body(data, &region(), PayloadFormat::Envelope, ContentType::Xml);
        assert!(b.starts_with(
            r#"<?xml version="1.0" encoding="UTF-8"?><webhook><id>evt_01</id><event>submission.completed</event>"#
        ));
        assert!(b.contains(concat!(
            "<data><a_b>&lt;&amp;&gt;</a_b><list><item>1</item><item><x/></item><item></item></list>",
            "<_1st>true</_1st><e></e></data>"
        )));
        assert!(b.contains("<timestamp>2017-12-07T05:21:28.977Z</timestamp>"));
        assert!(b.contains("<client_id>19817472</client_id>"));
        assert!(b.ends_with("<region>eu</region></webhook>"));
        let data = raw(data);
        assert_eq!(
            build(&source(&data, &region(), PayloadFormat::Envelope, ContentType::Xml)).content_type,
            "application/xml"
        );
        let flat = body(r#"{"k": 1}"#, &region(), PayloadFormat::Flat, ContentType::Xml);
        assert!(flat.contains(concat!(
            "<session_id/><event_type>submission.completed</event_type>",
            "<event_timestamp>1512624088.977</event_timestamp><region>eu</region><k>1</k></webhook>"
        )));
    }

    #[test]
    fn name_tables_are_sorted_and_disjoint() {
        for table in [LETTERS_4E, NAME_ONLY_4E] {
            assert!(table.iter().all(|(lo, hi)| lo <= hi));
            assert!(table.windows(2).all(|w| w[0].1 < w[1].0));
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A JSON value as the generator sees it; rendered to text for the payload builder.
        #[derive(Debug, Clone)]
        enum J {
            Null,
            Bool(bool),
            Number(String),
            Str(String),
            Array(Vec<J>),
            Object(Vec<(String, J)>),
        }

        impl J {
            /// JSON text; `spaced` adds insignificant whitespace, which must survive too.
            fn render(&self, spaced: bool) -> String {
                let sep = if spaced { ", \n" } else { "," };
                match self {
                    J::Null => "null".into(),
                    J::Bool(b) => b.to_string(),
                    J::Number(n) => n.clone(),
                    J::Str(s) => serde_json::to_string(s).unwrap(),
                    J::Array(items) => {
                        format!("[{}]", items.iter().map(|i| i.render(spaced)).collect::<Vec<_>>().join(sep))
                    }
                    J::Object(members) => format!(
                        "{{{}}}",
                        members
                            .iter()
                            .map(|(k, v)| format!(
                                "{}{}{}",
                                serde_json::to_string(k).unwrap(),
                                if spaced { " : " } else { ":" },
                                v.render(spaced)
                            ))
                            .collect::<Vec<_>>()
                            .join(sep)
                    ),
                }
            }
        }

        /// Object members with repeated names merged: last value, first position.
        fn merged(members: &[(String, J)]) -> IndexMap<&str, &J> {
            let mut out = IndexMap::new();
            for (k, v) in members {
                out.insert(k.as_str(), v);
            }
            out
        }

        /// XML 1.0's Char production, written out independently of the code under test.
        fn xml_can_carry(c: char) -> bool {
            let c = c as u32;
            c == 0x9
                || c == 0xA
                || c == 0xD
                || (0x20..=0xD7FF).contains(&c)
                || (0xE000..=0xFFFD).contains(&c)
                || c >= 0x10000
        }

        fn key() -> impl Strategy<Value = String> {
            // A few fixed names make repeats and the special cases common.
            prop_oneof![
                2 => any::<String>(),
                1 => prop::sample::select(vec!["a", "xml", "1", "", "a:b", "µ", "project_id", "item"])
                    .prop_map(String::from),
            ]
        }

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => any::<String>(),
                1 => prop::collection::vec(
                    prop::sample::select(vec![
                        '\u{0}', '\u{1}', '\r', '\n', '\t', '<', '&', '\u{FFFE}', '\u{FFFF}', 'a', '😀'
                    ]),
                    0..8
                )
                .prop_map(|cs| cs.into_iter().collect()),
            ]
        }

        fn value() -> impl Strategy<Value = J> {
            let leaf = prop_oneof![
                Just(J::Null),
                any::<bool>().prop_map(J::Bool),
                "-?(0|[1-9][0-9]{0,45})(\\.[0-9]{1,30})?([eE][+-]?[0-9]{1,4})?".prop_map(J::Number),
                text().prop_map(J::Str),
            ];
            leaf.prop_recursive(6, 48, 5, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(J::Array),
                    prop::collection::vec((key(), inner), 0..5).prop_map(J::Object),
                ]
            })
        }

        fn data() -> impl Strategy<Value = Vec<(String, J)>> {
            prop::collection::vec((key(), value()), 0..6)
        }

        fn build_for(data: &str, format: PayloadFormat, ct: ContentType) -> String {
            let data = raw(data);
            let params = region();
            String::from_utf8(build(&source(&data, &params, format, ct)).body).unwrap()
        }

        /// Asserts that `node` is the XML form of `value`.
        fn assert_xml_is(node: roxmltree::Node<'_, '_>, value: &J) {
            let children = elements(node);
            match value {
                J::Null => assert!(node.children().next().is_none(), "null as an empty element"),
                J::Bool(b) => assert_eq!(text_of(node), b.to_string()),
                J::Number(n) => assert_eq!(&text_of(node), n),
                J::Str(s) => {
                    assert!(children.is_empty());
                    assert_eq!(text_of(node), s.chars().filter(|&c| xml_can_carry(c)).collect::<String>());
                }
                J::Array(items) => {
                    assert_eq!(children.len(), items.len());
                    for (child, item) in children.iter().zip(items) {
                        assert_eq!(child.tag_name().name(), "item");
                        assert_xml_is(*child, item);
                    }
                }
                J::Object(members) => assert_members(&children, &merged(members)),
            }
        }

        fn assert_members(children: &[roxmltree::Node<'_, '_>], members: &IndexMap<&str, &J>) {
            assert_eq!(children.len(), members.len());
            for (child, (key, value)) in children.iter().zip(members) {
                assert_eq!(child.tag_name().name(), element_name(key));
                assert_eq!(child.tag_name().namespace(), None);
                assert_xml_is(*child, value);
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            #[test]
            fn envelope_json_carries_data_byte_for_byte(members in data(), spaced in any::<bool>()) {
                let data = J::Object(members).render(spaced);
                let body = build_for(&data, PayloadFormat::Envelope, ContentType::Json);
                let parsed = json_members(&body);
                prop_assert_eq!(&parsed[5], &("data".to_string(), data));
            }

            #[test]
            fn flat_json_carries_each_member_exactly(members in data(), spaced in any::<bool>()) {
                let data = J::Object(members.clone()).render(spaced);
                let body = build_for(&data, PayloadFormat::Flat, ContentType::Json);
                let parsed: IndexMap<String, String> = json_members(&body).into_iter().collect();
                let mut expected: IndexMap<String, String> = IndexMap::new();
                expected.insert("client_id".into(), "19817472".into());
                expected.insert("project_id".into(), "1249918".into());
                expected.insert("session_id".into(), "null".into());
                expected.insert("event_type".into(), r#""submission.completed""#.into());
                expected.insert("event_timestamp".into(), "1512624088.977".into());
                expected.insert("region".into(), r#""eu""#.into());
                for (k, v) in merged(&members) {
                    if !FLAT_KEYS.contains(&k) {
                        expected.insert(k.to_string(), v.render(spaced));
                    }
                }
                prop_assert_eq!(parsed.into_iter().collect::<Vec<_>>(), expected.into_iter().collect::<Vec<_>>());
            }

            #[test]
            fn xml_is_well_formed_and_round_trips(members in data(), flat in any::<bool>()) {
                let data = J::Object(members.clone()).render(false);
                let format = if flat { PayloadFormat::Flat } else { PayloadFormat::Envelope };
                let xml = build_for(&data, format, ContentType::Xml);
                let doc = roxmltree::Document::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}: {xml}")))?;
                let root = doc.root_element();
                prop_assert_eq!(root.tag_name().name(), "webhook");
                if flat {
                    let mut top = merged(&members);
                    top.retain(|k, _| !FLAT_KEYS.contains(k));
                    let children = elements(root);
                    let region = J::Str("eu".into());
                    let mut expected: IndexMap<&str, &J> = IndexMap::from([("region", &region)]);
                    expected.extend(top);
                    assert_members(&children[5..], &expected);
                } else {
                    assert_xml_is(xml_child(root, "data"), &J::Object(members));
                }
            }
        }
    }
}
