//! The kernel's figures where only Linux keeps them (`/proc`, sock_diag,
//! pressure stall information): none, and every caller has its answer for
//! that (a deadline on wall time, a start slot held for its allowance, a
//! hint without the port's holder).

use std::collections::HashMap;
use std::time::Duration;

pub fn listening_ports_of_session(_sid: u32) -> Option<Vec<u16>> {
    None
}

pub fn runqueue_waits_of_session(_sid: u32) -> Option<HashMap<u32, Duration>> {
    None
}

#[derive(Debug)]
pub enum ListedThreadWaits {}

impl ListedThreadWaits {
    pub fn open(_list: &std::path::Path) -> Option<ListedThreadWaits> {
        None
    }

    pub fn read(&self) -> Option<HashMap<u32, Duration>> {
        match *self {}
    }
}

pub fn session_is_busy(_sid: u32) -> Option<bool> {
    None
}

pub fn cpu_pressure_total() -> Option<u64> {
    None
}

pub fn unread_bytes(_local: std::net::SocketAddr, _remote: std::net::SocketAddr) -> Option<u32> {
    None
}

#[derive(Debug)]
pub enum ListenerProbe {}

impl ListenerProbe {
    pub fn open() -> Option<ListenerProbe> {
        None
    }

    pub fn anything_listens_on(&self, _port: u16) -> Option<bool> {
        match *self {}
    }
}

pub fn port_holder(_port: u16) -> Option<String> {
    None
}
