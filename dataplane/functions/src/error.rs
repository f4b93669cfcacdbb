//! Errors raised when a function is created with bad arguments or fed the
//! wrong type. Messages follow influxd 1.6.7's wording where it has one.

use crate::value::ValueType;

/// Why a function could not be created or fed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FunctionError {
    /// The name is not an InfluxQL function this crate knows.
    #[error("undefined function {0}()")]
    UnknownFunction(String),
    /// The function does not accept this input type
    /// (influxd: `unsupported max iterator type: *query.stringInterruptIterator`).
    #[error("unsupported {function} iterator type: {input}")]
    UnsupportedType {
        /// Function name.
        function: String,
        /// The input type that was refused.
        input: ValueType,
    },
    /// Wrong number of arguments; `expected` reads "1" or
    /// "at least 2 but no more than 3" as in influxd.
    #[error("invalid number of arguments for {function}, expected {expected}, got {got}")]
    ArgumentCount {
        /// Function name.
        function: String,
        /// What the function takes.
        expected: String,
        /// How many were given.
        got: usize,
    },
    /// An argument has the wrong kind or value.
    #[error("{0}")]
    InvalidArgument(String),
    /// A reducer was fed a column of another type than the one it was created for.
    #[error("{function}: pushed {pushed} values into a reducer created for {expected}")]
    TypeMismatch {
        /// Function name.
        function: String,
        /// The type the reducer was created for.
        expected: ValueType,
        /// The type that was pushed.
        pushed: ValueType,
    },
    /// Two reducers of different functions or types were merged.
    #[error("cannot merge a {other} reducer into a {this} reducer")]
    MergeMismatch {
        /// Description of the receiving reducer.
        this: String,
        /// Description of the merged-in reducer.
        other: String,
    },
    /// A binary operator is not defined for these operand types.
    #[error("invalid operation: {lhs} {op} {rhs}")]
    InvalidBinaryOperation {
        /// Left operand type.
        lhs: ValueType,
        /// Operator text.
        op: &'static str,
        /// Right operand type.
        rhs: ValueType,
    },
    /// Bytes given to [`crate::Reducer::decode`] (or a [`crate::wire::Reader`])
    /// are truncated, corrupt or from another format version; says what was
    /// being read and at which byte.
    #[error("malformed encoding: {0}")]
    Decode(String),
}
