//! CloudWatch's Smithy RPC v2 CBOR, as the proxy needs it: a request's body read as JSON (to
//! see what IAM would be asked), and the error answers it injects. moto's own translation is
//! `tests/moto/truer/cbor.py`.

use minicbor::Decoder;
use minicbor::data::Type;
use serde_json::{Map, Number, Value};

/// Whether a request speaks RPC v2 CBOR.
pub fn is_cbor(headers: &hyper::HeaderMap) -> bool {
    headers
        .get("smithy-protocol")
        .is_some_and(|v| v.as_bytes() == b"rpc-v2-cbor")
}

/// The operation an RPC v2 CBOR request names in its path:
/// `/service/{service}/operation/{operation}`.
pub fn operation(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/service/")?;
    let (service, operation) = rest.split_once("/operation/")?;
    Some((service, operation))
}

/// A CBOR document as JSON: maps, arrays, text, numbers, booleans and null; a tagged value
/// (a timestamp) as its content; byte strings as null. Not CBOR at all: null.
pub fn to_json(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Object(Map::new());
    }
    value(&mut Decoder::new(bytes)).unwrap_or(Value::Null)
}

fn value(d: &mut Decoder<'_>) -> Result<Value, minicbor::decode::Error> {
    Ok(match d.datatype()? {
        Type::Bool => Value::Bool(d.bool()?),
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Value::from(d.u64()?),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => Value::from(d.i64()?),
        Type::F16 | Type::F32 | Type::F64 => {
            Number::from_f64(d.f64()?).map_or(Value::Null, Value::Number)
        }
        Type::String | Type::StringIndef => {
            let mut text = String::new();
            for part in d.str_iter()? {
                text.push_str(part?);
            }
            Value::String(text)
        }
        Type::Array | Type::ArrayIndef => {
            let length = d.array()?;
            let mut items = Vec::new();
            while more(d, length, items.len())? {
                items.push(value(d)?);
            }
            Value::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let length = d.map()?;
            let mut entries = Map::new();
            while more(d, length, entries.len())? {
                let key = match value(d)? {
                    Value::String(key) => key,
                    other => other.to_string(),
                };
                entries.insert(key, value(d)?);
            }
            Value::Object(entries)
        }
        Type::Tag => {
            d.tag()?;
            value(d)?
        }
        _ => {
            d.skip()?;
            Value::Null
        }
    })
}

/// Whether a container of `length` items (None: indefinite, ended by a break) has another
/// after `read`; consumes the break.
fn more(
    d: &mut Decoder<'_>,
    length: Option<u64>,
    read: usize,
) -> Result<bool, minicbor::decode::Error> {
    match length {
        Some(n) => Ok((read as u64) < n),
        None if d.datatype()? == Type::Break => {
            d.skip()?;
            Ok(false)
        }
        None => Ok(true),
    }
}

/// The body of an RPC v2 CBOR error: its shape in `__type`, and its message.
pub fn error_body(code: &str, message: &str) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(2)
        .and_then(|e| e.str("__type"))
        .and_then(|e| e.str(&format!("com.amazonaws.cloudwatch#{code}")))
        .and_then(|e| e.str("message"))
        .and_then(|e| e.str(message))
        .expect("writing to a Vec cannot fail");
    e.into_writer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite_containers_tags_and_numbers_read_as_json() {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.begin_map().unwrap();
        e.str("AlarmName").unwrap().str("a").unwrap();
        e.str("AlarmActions").unwrap().array(2).unwrap();
        e.str("arn:x").unwrap().str("arn:y").unwrap();
        e.str("Threshold").unwrap().f64(1.5).unwrap();
        e.str("EvaluationPeriods").unwrap().i64(-3).unwrap();
        e.str("Timestamp").unwrap();
        e.tag(minicbor::data::Tag::new(1))
            .unwrap()
            .f64(1.0e9)
            .unwrap();
        e.str("Blob").unwrap().bytes(b"x").unwrap();
        e.end().unwrap();
        let json = to_json(&e.into_writer());
        assert_eq!(
            json,
            serde_json::json!({
                "AlarmName": "a",
                "AlarmActions": ["arn:x", "arn:y"],
                "Threshold": 1.5,
                "EvaluationPeriods": -3,
                "Timestamp": 1.0e9,
                "Blob": null,
            })
        );
    }

    #[test]
    fn an_error_body_reads_back_with_its_shape_and_message() {
        let body = error_body("Throttling", "slow down");
        assert_eq!(
            to_json(&body),
            serde_json::json!({"__type": "com.amazonaws.cloudwatch#Throttling", "message": "slow down"})
        );
        assert_eq!(to_json(b"<html>"), Value::Null);
    }
}
