//! [`StallProxy`]: a TCP fault proxy in front of a server. A test can make it
//! stop forwarding — a stalled network: connections stay open, no byte
//! passes either way, nobody gets an error — and resume; add latency to every
//! chunk it forwards; or cut every open connection (as a reset would). The
//! kernel of the test machines has no `netem`; this is how tests cut a worker
//! off from its database.
//!
//! Invariants: every task it starts is owned (a `JoinSet` inside the accept
//! task, aborted when the proxy is dropped); it listens on loopback, or on the
//! local address a test names (a namespace's gateway), never on all of them.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A proxy from a free loopback port to `target`. Dropping it closes every
/// connection through it.
pub struct StallProxy {
    addr: SocketAddr,
    faults: watch::Sender<Faults>,
    accept: JoinHandle<()>,
}

impl StallProxy {
    /// Starts forwarding to `target`, listening on loopback.
    pub async fn start(target: SocketAddr) -> StallProxy {
        Self::start_on(std::net::Ipv4Addr::LOCALHOST.into(), target).await
    }

    /// Starts forwarding to `target`, listening on `bind` (a local address,
    /// e.g. the test's end of a [`crate::Host`]'s veth pair).
    pub async fn start_on(bind: std::net::IpAddr, target: SocketAddr) -> StallProxy {
        let listener = TcpListener::bind((bind, 0))
            .await
            .unwrap_or_else(|e| panic!("binding the proxy on {bind}: {e}"));
        let addr = listener.local_addr().expect("proxy address");
        let (faults, watch) = watch::channel(Faults::default());
        let accept = tokio::spawn(accept_loop(listener, target, watch));
        StallProxy {
            addr,
            faults,
            accept,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` (`postgres://user@host:port/db...`) pointed at this proxy.
    pub fn url_for(&self, url: &str) -> String {
        let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
        let rest = &url[scheme_end..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let user = match authority.rfind('@') {
            Some(at) => &authority[..=at],
            None => "",
        };
        format!(
            "{}{user}{}{}",
            &url[..scheme_end],
            self.addr,
            &rest[authority_end..]
        )
    }

    /// Stops forwarding: bytes in flight wait, connections stay open.
    pub fn stall(&self) {
        self.faults.send_modify(|f| f.stalled = true);
    }

    /// Forwards again.
    pub fn resume(&self) {
        self.faults.send_modify(|f| f.stalled = false);
    }

    /// Holds every chunk this long before forwarding it (each way).
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.faults.send_modify(|f| f.latency = latency);
    }

    /// Closes every connection open through the proxy now (new ones are
    /// accepted as before).
    pub fn cut_connections(&self) {
        self.faults.send_modify(|f| f.cut += 1);
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// What the proxy does to traffic now.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    stalled: bool,
    latency: std::time::Duration,
    /// Bumped to close every open connection.
    cut: u64,
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, faults: watch::Receiver<Faults>) {
    let mut pumps = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let Ok(server) = TcpStream::connect(target).await else { continue };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                pumps.spawn(pump(client_read, server_write, faults.clone()));
                pumps.spawn(pump(server_read, client_write, faults.clone()));
            }
            Some(_) = pumps.join_next(), if !pumps.is_empty() => {}
        }
    }
}

/// Copies bytes one way, holding them while the proxy is stalled, delayed by
/// its latency; ends (closing its halves) when the proxy cuts connections.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut faults: watch::Receiver<Faults>,
) {
    let generation = faults.borrow().cut;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if wait_while_stalled(&mut faults, generation).await.is_err() {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            () = cut(&mut faults, generation) => return,
        };
        let latency = faults.borrow().latency;
        if !latency.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(latency) => {}
                () = cut(&mut faults, generation) => return,
            }
        }
        if wait_while_stalled(&mut faults, generation).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Waits while stalled; `Err` once the connection is to be cut.
async fn wait_while_stalled(
    faults: &mut watch::Receiver<Faults>,
    generation: u64,
) -> Result<(), ()> {
    loop {
        let now = *faults.borrow_and_update();
        if now.cut != generation {
            return Err(());
        }
        if !now.stalled {
            return Ok(());
        }
        faults.changed().await.map_err(|_| ())?;
    }
}

/// Resolves once the proxy cuts the connections of `generation` (or is gone).
async fn cut(faults: &mut watch::Receiver<Faults>, generation: u64) {
    while faults.borrow().cut == generation {
        if faults.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn forwards_stalls_and_resumes() {
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let target = echo.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let mut echoes = JoinSet::new();
            loop {
                let (mut s, _) = echo.accept().await.expect("accept");
                echoes.spawn(async move {
                    let mut buf = [0u8; 64];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        let proxy = StallProxy::start(target).await;
        assert_eq!(
            proxy.url_for("postgres://postgres@127.0.0.1:5432/db?x=1"),
            format!("postgres://postgres@{}/db?x=1", proxy.addr())
        );
        assert_eq!(
            proxy.url_for("postgres://h:1/db"),
            format!("postgres://{}/db", proxy.addr())
        );
        let mut client = TcpStream::connect(proxy.addr()).await.expect("connect");
        let mut buf = [0u8; 5];
        client.write_all(b"hello").await.expect("write");
        client.read_exact(&mut buf).await.expect("echo");
        assert_eq!(&buf, b"hello");
        proxy.stall();
        client.write_all(b"again").await.expect("write");
        let stalled =
            tokio::time::timeout(Duration::from_millis(300), client.read_exact(&mut buf)).await;
        assert!(stalled.is_err(), "nothing passes while stalled");
        proxy.resume();
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut buf))
            .await
            .expect("passes again")
            .expect("read");
        assert_eq!(&buf, b"again");
        proxy.set_latency(Duration::from_millis(200));
        let sent = std::time::Instant::now();
        client.write_all(b"later").await.expect("write");
        client.read_exact(&mut buf).await.expect("echo");
        assert!(
            sent.elapsed() >= Duration::from_millis(400),
            "200 ms each way"
        );
        proxy.set_latency(Duration::ZERO);
        proxy.cut_connections();
        let closed = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
            .await
            .expect("the cut is seen");
        assert!(
            matches!(closed, Ok(0) | Err(_)),
            "connection closed: {closed:?}"
        );
        let mut again = TcpStream::connect(proxy.addr())
            .await
            .expect("new connection");
        again.write_all(b"fresh").await.expect("write");
        tokio::time::timeout(Duration::from_secs(5), again.read_exact(&mut buf))
            .await
            .expect("new connections pass")
            .expect("read");
        assert_eq!(&buf, b"fresh");
        drop(client);
        drop(proxy);
        server.abort();
    }
}
