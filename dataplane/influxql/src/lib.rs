//! InfluxQL parser (work in progress).
