mod home;
mod not_found;
mod org;
mod settings;
mod signed_out;

pub use home::HomePage;
pub use not_found::NotFound;
pub use org::OrgPage;
pub use settings::{
    AdminsRoute, AuditRoute, DomainsRoute, InstancesRoute, PeopleRoute, SettingsRoute, SetupRoute,
};
pub use signed_out::SignedOutPage;
