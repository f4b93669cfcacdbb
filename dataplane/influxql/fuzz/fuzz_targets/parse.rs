//! Any UTF-8 text: parsing never panics, and a parsed query prints to text that, when it
//! parses, prints the same again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ast) = tessera_influxql::parse_query(q) {
        let shown = ast.to_string();
        if let Ok(again) = tessera_influxql::parse_query(&shown) {
            assert_eq!(again.to_string(), shown);
        }
    }
});
