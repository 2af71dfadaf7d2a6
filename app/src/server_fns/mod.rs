//! Server functions: thin wrappers (session guard + one backend call), served under `/rpc/`.

pub mod deliveries;
pub mod insight;
pub mod secrets;
pub mod tokens;
pub mod uniform;
