//! The real Apollo Router, as a library, in our own binary: `cargo build`
//! gives users the router without a download. Run it with
//! `titiktemu-router --config router/router.yaml --supergraph supergraph.graphql`.

mod limits;

fn main() -> anyhow::Result<()> {
    // Nothing phones home: Apollo's anonymous usage reporting is off unless
    // asked for. Set before the router starts any thread.
    if std::env::var_os("APOLLO_TELEMETRY_DISABLED").is_none() {
        std::env::set_var("APOLLO_TELEMETRY_DISABLED", "true");
    }
    apollo_router::main()
}
