//! The script sandbox's limits, measured beyond what the document itself holds.
//!
//! rhai measures data sizes cumulatively: the size of a map or array is the total of every string
//! byte, array element and map entry inside it, and it measures the whole value whenever a method
//! is called on it (`doc.items.len()`) or a function returns it. Fixed limits would therefore fail
//! a document with many lines although no string in it is long, and the operation limit would
//! stop a plain loop over its lines. So the limits start from the document: a script may build up
//! to the base limits beyond what the document holds, and run a number of operations that grows
//! with it. Engines come in size classes (each doubling the base limits); the one a document needs
//! is built the first time a document of that size is mapped.

use rhai::{Engine, EvalAltResult, Position};

/// What a script may build (and run) beyond the document: text bytes, array elements, object
/// entries, operations.
pub const BASE_STRING_BYTES: usize = 256 * 1024;
pub const BASE_ARRAY_ELEMENTS: usize = 100_000;
pub const BASE_MAP_ENTRIES: usize = 100_000;
pub const BASE_OPERATIONS: u64 = 100_000;

/// Size classes: class `k` allows `2^k` times the base limits. The last one (8 GiB of text)
/// is beyond any document a Jushuitan answer can carry.
pub const CLASSES: usize = 16;

/// The data sizes of a document as rhai counts them: string bytes, array elements and map
/// entries, all nested ones included.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DataSizes {
    pub strings: usize,
    pub arrays: usize,
    pub maps: usize,
}

/// The smallest class whose limits hold the document plus the base limits.
pub fn class_of(sizes: &DataSizes) -> usize {
    let need = |have: usize, base: usize| {
        let ratio = have.div_ceil(base).saturating_add(1);
        ratio
            .checked_next_power_of_two()
            .map_or(CLASSES, |p| p.trailing_zeros() as usize)
    };
    need(sizes.strings, BASE_STRING_BYTES)
        .max(need(sizes.arrays, BASE_ARRAY_ELEMENTS))
        .max(need(sizes.maps, BASE_MAP_ENTRIES))
        .min(CLASSES - 1)
}

/// The limits of one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub string_bytes: usize,
    pub array_elements: usize,
    pub map_entries: usize,
    pub operations: u64,
}

pub fn limits(class: usize) -> Limits {
    let k = class.min(CLASSES - 1) as u32;
    Limits {
        string_bytes: BASE_STRING_BYTES << k,
        array_elements: BASE_ARRAY_ELEMENTS << k,
        map_entries: BASE_MAP_ENTRIES << k,
        operations: BASE_OPERATIONS << k,
    }
}

/// Sets the limits of `class` on an engine.
pub fn apply(engine: &mut Engine, class: usize) {
    let l = limits(class);
    engine.set_max_operations(l.operations);
    engine.set_max_string_size(l.string_bytes);
    engine.set_max_array_size(l.array_elements);
    engine.set_max_map_size(l.map_entries);
}

/// A script error in plain words: a runtime error without rhai's "Runtime error" prefix, a limit
/// with the limit that was hit.
pub fn describe_error(e: &EvalAltResult, class: usize) -> String {
    let at = |pos: &Position| {
        if pos.is_none() {
            String::new()
        } else {
            format!(" ({pos})")
        }
    };
    let l = limits(class);
    match e {
        EvalAltResult::ErrorRuntime(d, pos) if !d.is_unit() => format!("{d}{}", at(pos)),
        EvalAltResult::ErrorDataTooLarge(what, pos) => {
            let limit = match what.as_str() {
                "Length of string" => format!("{} bytes of text", l.string_bytes),
                "Size of object map" => format!("{} object entries", l.map_entries),
                _ => format!("{} array elements", l.array_elements),
            };
            format!(
                "{what} too large: a value the script built holds more than {limit}, the sandbox \
                 limit for this document (a runaway script?){}",
                at(pos)
            )
        }
        EvalAltResult::ErrorTooManyOperations(pos) => format!(
            "Too many operations: the script ran more than {} steps, the sandbox limit for this \
             document (a loop that never ends?){}",
            l.operations,
            at(pos)
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_hold_the_document_plus_the_base() {
        let sizes = |strings, arrays, maps| DataSizes {
            strings,
            arrays,
            maps,
        };
        assert_eq!(class_of(&DataSizes::default()), 0);
        assert_eq!(class_of(&sizes(1, 1, 1)), 1);
        for s in [
            sizes(3_000_000, 10_000, 170_000),
            sizes(10, 900_000, 10),
            sizes(BASE_STRING_BYTES * 5, 0, 0),
        ] {
            let l = limits(class_of(&s));
            assert!(l.string_bytes >= s.strings + BASE_STRING_BYTES, "{s:?}");
            assert!(l.array_elements >= s.arrays + BASE_ARRAY_ELEMENTS, "{s:?}");
            assert!(l.map_entries >= s.maps + BASE_MAP_ENTRIES, "{s:?}");
            // ... and the class below does not.
            let k = class_of(&s);
            assert!(k > 0);
            let below = limits(k - 1);
            assert!(
                below.string_bytes < s.strings + BASE_STRING_BYTES
                    || below.array_elements < s.arrays + BASE_ARRAY_ELEMENTS
                    || below.map_entries < s.maps + BASE_MAP_ENTRIES,
                "{s:?}"
            );
        }
        assert_eq!(class_of(&sizes(usize::MAX, 0, 0)), CLASSES - 1);
    }
}
