mod home;
mod not_found;
mod org;
mod settings;
mod signed_out;

pub use home::HomePage;
pub use not_found::NotFound;
pub use org::OrgPage;
pub use settings::{AdminsPage, AuditPage, InstancesPage, SettingsLayout, SetupPage};
pub use signed_out::SignedOutPage;
