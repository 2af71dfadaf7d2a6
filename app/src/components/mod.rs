//! Building blocks shared by several pages.

pub mod dialog;
pub mod layout;
pub mod toast;
