//! kcat's output format strings (`-f`): %t topic, %p partition, %o offset, %k key, %s value,
//! %K key length, %S value length (-1 for null), %T timestamp, %h headers, %%.

use crate::decode::Shown;
use crate::produce::unescape;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Literal(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    KeyLen,
    ValueLen,
    Timestamp,
    Headers,
}

pub fn parse(fmt: &str) -> Result<Vec<Token>, String> {
    let bytes = unescape(fmt)?;
    let mut out = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            lit.push(bytes[i]);
            i += 1;
            continue;
        }
        let t = match bytes.get(i + 1) {
            Some(b'%') => {
                lit.push(b'%');
                i += 2;
                continue;
            }
            Some(b't') => Token::Topic,
            Some(b'p') => Token::Partition,
            Some(b'o') => Token::Offset,
            Some(b'k') => Token::Key,
            Some(b's') => Token::Value,
            Some(b'K') => Token::KeyLen,
            Some(b'S') => Token::ValueLen,
            Some(b'T') => Token::Timestamp,
            Some(b'h') => Token::Headers,
            Some(&c) => return Err(format!("'{fmt}': unknown token %{} (known: %t %p %o %k %s %K %S %T %h %%)", c as char)),
            None => return Err(format!("'{fmt}': the format ends with a lone %")),
        };
        if !lit.is_empty() {
            out.push(Token::Literal(std::mem::take(&mut lit)));
        }
        out.push(t);
        i += 2;
    }
    if !lit.is_empty() {
        out.push(Token::Literal(lit));
    }
    Ok(out)
}

/// Whether the format shows the key (to skip decoding it when not).
pub fn uses_key(tokens: &[Token]) -> bool {
    tokens.contains(&Token::Key)
}

pub fn render(tokens: &[Token], r: &polykafka::ConsumerRecord, key: &Shown, value: &Shown, out: &mut Vec<u8>) {
    use std::io::Write;
    let len = |raw: Option<&bytes::Bytes>| raw.map_or(-1, |b| b.len() as i64);
    for t in tokens {
        let _ = match t {
            Token::Literal(l) => out.write_all(l),
            Token::Topic => out.write_all(r.topic.as_bytes()),
            Token::Partition => write!(out, "{}", r.partition),
            Token::Offset => write!(out, "{}", r.offset),
            Token::Key => out.write_all(key.bytes()),
            Token::Value => out.write_all(value.bytes()),
            Token::KeyLen => write!(out, "{}", len(r.key.as_ref())),
            Token::ValueLen => write!(out, "{}", len(r.value.as_ref())),
            Token::Timestamp => write!(out, "{}", r.timestamp),
            Token::Headers => {
                for (i, h) in r.headers.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(h.key.as_bytes());
                    out.push(b'=');
                    out.extend_from_slice(h.value.as_deref().unwrap_or(b""));
                }
                Ok(())
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcat_formats_parse() {
        let t = parse("%t [%p] @%o: %k=%s\\n").unwrap();
        assert_eq!(
            t,
            vec![
                Token::Topic,
                Token::Literal(b" [".to_vec()),
                Token::Partition,
                Token::Literal(b"] @".to_vec()),
                Token::Offset,
                Token::Literal(b": ".to_vec()),
                Token::Key,
                Token::Literal(b"=".to_vec()),
                Token::Value,
                Token::Literal(b"\n".to_vec()),
            ]
        );
        assert_eq!(parse("100%%").unwrap(), vec![Token::Literal(b"100%".to_vec())]);
        assert!(parse("%q").unwrap_err().contains("%q"));
        assert!(parse("x%").is_err());
    }
}
