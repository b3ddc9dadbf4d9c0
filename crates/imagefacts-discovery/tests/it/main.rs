//! Integration tests of imagefacts-discovery: one binary, one module per source.

mod bundle;
mod cluster;
mod fuzz;
mod fuzz_regressions;
mod manifests;
mod support;
mod synthetic;
