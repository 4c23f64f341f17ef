//! The attendance service: check-ins, per-event lists and live statistics.
//! A federated subgraph owning `Attendance` and contributing
//! `Event.attendance`, `Event.attendanceStats` and `User.attendances`.

pub mod clients;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod rest;
pub mod startup;
pub mod storage;
pub mod wire;
