//! The real Apollo Router, as a library, in our own binary: `cargo build`
//! gives users the router without a download. Run it with
//! `titiktemu-router --config router/router.yaml --supergraph supergraph.graphql`.
//!
//! Clients connect to the client edge (`edge.rs`, `ROUTER_LISTEN`), which
//! decides who they are from the TCP peer and hands each request to the
//! router on a private Unix socket.

mod edge;
mod errors;
mod limits;
mod playground;

fn main() -> anyhow::Result<()> {
    // Nothing phones home: Apollo's anonymous usage reporting is off unless
    // asked for. Set before the router starts any thread.
    if std::env::var_os("APOLLO_TELEMETRY_DISABLED").is_none() {
        std::env::set_var("APOLLO_TELEMETRY_DISABLED", "true");
    }
    if !serves_clients(std::env::args().skip(1)) {
        return apollo_router::main();
    }
    let socket_dir = edge::private_socket_dir()?;
    let socket = socket_dir.join("router.sock");
    std::env::set_var(edge::UPSTREAM_SOCKET_VAR, &socket);
    edge::start(edge::Settings::from_env(socket)?)?;
    let outcome = apollo_router::main();
    let _ = std::fs::remove_dir_all(&socket_dir);
    outcome
}

/// `config schema`, `--help`, `--version` and the like print and exit: they
/// must not take the clients' port.
fn serves_clients(mut args: impl Iterator<Item = String>) -> bool {
    args.all(|arg| {
        let prints = matches!(arg.as_str(), "-h" | "--help" | "-V" | "--version" | "--schema");
        let subcommand = !arg.starts_with('-') && matches!(arg.as_str(), "config" | "help");
        !prints && !subcommand
    })
}

#[cfg(test)]
mod tests {
    use super::serves_clients;

    fn args(line: &str) -> impl Iterator<Item = String> + '_ {
        line.split_whitespace().map(str::to_owned)
    }

    #[test]
    fn only_a_serving_router_takes_the_clients_port() {
        assert!(serves_clients(args("--config router/router.yaml --supergraph supergraph.graphql")));
        assert!(serves_clients(args("")));
        assert!(!serves_clients(args("config schema")));
        assert!(!serves_clients(args("--version")));
        assert!(!serves_clients(args("--config x.yaml --help")));
    }
}
