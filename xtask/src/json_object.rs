//! A JSON object written straight into bytes, exactly as serde_json writes the same object
//! (compact, serde_json's escaping and numbers, the keys in the order given): libtest's lines
//! (keys sorted, as serde_json writes a `Value`) and the merged KTAP's attempt records (keys
//! in their struct's order), one or two per verdict, without a `Value` or a serde walk for
//! each. In the dev profile those took a third of `cargo xtask report`'s time for 30,000
//! verdicts, and 60,000 instructions a record.

/// One object under construction. Its keys come in the order its writer's serde_json
/// counterpart has them and need no escaping: each caller's tests hold its output to
/// serde_json's.
pub struct JsonObject<'out> {
    out: &'out mut Vec<u8>,
    first: bool,
}

impl<'out> JsonObject<'out> {
    /// Starts an object at the end of `out`.
    pub fn new(out: &'out mut Vec<u8>) -> JsonObject<'out> {
        out.push(b'{');
        JsonObject { out, first: true }
    }

    fn key(&mut self, key: &'static str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    pub fn str(&mut self, key: &'static str, value: &str) -> &mut Self {
        self.key(key);
        string(self.out, value);
        self
    }

    pub fn strings(&mut self, key: &'static str, values: &[String]) -> &mut Self {
        self.key(key);
        self.out.push(b'[');
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            string(self.out, value);
        }
        self.out.push(b']');
        self
    }

    pub fn f64(&mut self, key: &'static str, value: f64) -> &mut Self {
        self.key(key);
        // serde_json's own float format (shortest round trip, `1.2e-6`; null if not finite).
        let _ = serde_json::to_writer(&mut *self.out, &value);
        self
    }

    pub fn u64(&mut self, key: &'static str, value: u64) -> &mut Self {
        self.key(key);
        // The digits from a loop (not through `to_string`'s formatter and allocation).
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = value;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&digits[at..]);
        self
    }

    pub fn bool(&mut self, key: &'static str, value: bool) -> &mut Self {
        self.key(key);
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// Closes the object.
    pub fn end(&mut self) {
        self.out.push(b'}');
    }
}

/// A JSON string: most names need no escaping and are copied as they are; any other goes
/// through serde_json's escaping.
fn string(out: &mut Vec<u8>, text: &str) {
    // A loop, not iterator adapters: in a debug build this check was most of a line's time.
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] < 0x20 || bytes[at] == b'"' || bytes[at] == b'\\' {
            let _ = serde_json::to_writer(&mut *out, text);
            return;
        }
        at += 1;
    }
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_written_as_serde_json_writes_its_value() {
        let texts = ["plain", "", "quote \" and \\ back", "tab\tnew\nline\r\u{1}\u{1f}\u{7f}", "ünï 🙂", "\u{8}\u{c}"];
        for text in texts {
            let mut out = Vec::new();
            let list = vec![text.to_string(), "b".into()];
            JsonObject::new(&mut out)
                .str("a", text)
                .bool("b", true)
                .f64("c", 1.2e-6)
                .f64("d", 0.0)
                .strings("e", &list)
                .strings("f", &[])
                .u64("g", u64::MAX)
                .bool("h", false)
                .f64("i", 12345.678)
                .u64("j", 0)
                .u64("k", 1_000_000_007)
                .end();
            let expected = serde_json::json!({
                "a": text, "b": true, "c": 1.2e-6, "d": 0.0, "e": list, "f": [], "g": u64::MAX, "h": false,
                "i": 12345.678, "j": 0, "k": 1_000_000_007u64,
            });
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&expected).unwrap(), "{text:?}");
        }
    }
}
