//! InfluxQL functions (work in progress).
