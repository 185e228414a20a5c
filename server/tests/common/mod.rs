// Each test crate uses a different part of these helpers.
#![allow(dead_code)]

pub mod simulator;
pub mod storage;
