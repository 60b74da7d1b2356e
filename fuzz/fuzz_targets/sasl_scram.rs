#![no_main]
// libFuzzer entry of polykafka_fuzz::sasl_scram (the body is shared with the smoke test).
libfuzzer_sys::fuzz_target!(|data: &[u8]| polykafka_fuzz::sasl_scram(data));
