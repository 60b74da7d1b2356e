use pyo3::prelude::*;
#[pyclass(module = "polykafka.admin", name = "_AdminClient", frozen)]
pub struct AdminClient {}
