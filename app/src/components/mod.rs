//! Building blocks shared by several pages.

pub mod caret;
pub mod dialog;
pub mod field;
pub mod filters;
pub mod focus;
pub mod form;
pub mod key_value;
pub mod layout;
pub mod live;
pub mod loaded;
pub mod modal;
pub mod mrkdwn;
pub mod paging;
pub mod pickers;
pub mod preview_pane;
pub mod secret_picker;
pub mod table;
pub mod tag_input;
pub mod toast;
pub mod tree;
pub mod variable_picker;
