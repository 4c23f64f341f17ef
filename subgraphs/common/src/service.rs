//! The three services and the names the design fixes for each of them.

use std::{fmt, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    Auth,
    Event,
    Attendance,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 3] = [ServiceKind::Auth, ServiceKind::Event, ServiceKind::Attendance];

    /// Short name, as used on the command line and in directory names.
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Auth => "auth",
            ServiceKind::Event => "event",
            ServiceKind::Attendance => "attendance",
        }
    }

    /// The PostgreSQL schema that holds this service's tables.
    pub fn schema(self) -> &'static str {
        match self {
            ServiceKind::Auth => "auth_schema",
            ServiceKind::Event => "event_schema",
            ServiceKind::Attendance => "attendance_schema",
        }
    }

    /// The PostgreSQL role this service (and its migrations) connect as.
    pub fn db_user(self) -> &'static str {
        match self {
            ServiceKind::Auth => "auth_user",
            ServiceKind::Event => "event_user",
            ServiceKind::Attendance => "attendance_user",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            ServiceKind::Auth => 3001,
            ServiceKind::Event => 3002,
            ServiceKind::Attendance => 3004,
        }
    }

    /// Prefix of per-service variables when one process configures several
    /// services, e.g. `AUTH_DATABASE_URL` or `AUTH_DB_PASSWORD`.
    pub fn env_prefix(self) -> &'static str {
        match self {
            ServiceKind::Auth => "AUTH",
            ServiceKind::Event => "EVENT",
            ServiceKind::Attendance => "ATTENDANCE",
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ServiceKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("unknown service `{s}` (expected auth, event or attendance)"))
    }
}
