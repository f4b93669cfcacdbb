//! InfluxQL 1.x functions, placeholder while the crate is written.
mod error;
mod gosort;
mod value;
