//! Integration tests of the `imagefacts` binary, against real local registries
//! (`docker-registry` started by the testkit) and scripted misbehaving servers.
//!
//! All tests live in this one binary; each starts its own servers on 127.0.0.1 and stops them.

mod analysis;
mod bounds;
mod bundles;
mod cluster;
mod credentials;
mod discovery;
mod errors;
mod faults;
mod fleet;
mod honest;
mod hostile;
mod html;
mod injected;
mod inspect;
mod kubeconfig;
mod layouts;
mod leaks;
mod nosecret;
mod progress;
mod redaction;
mod requests;
mod routes;
mod schema;
mod secrets;
mod shell;
mod sigkill;
mod soak;
mod supply;
mod support;
mod usage;
