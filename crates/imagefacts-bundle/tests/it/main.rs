//! Integration tests of imagefacts-bundle, in one binary.

mod archive;
mod directory;
mod failures;
mod fixture;
mod new_bundle;
mod read;
mod refuse;
mod sigkill;
