//! A fault-injecting TCP proxy for one broker: clients connect to the proxy (the broker advertises the
//! proxy's port on its PROXIED listener: `tests/cluster/kafka up --proxy-offset N`), the proxy forwards to the
//! broker and injects, while it runs: added latency and jitter, a bandwidth limit, a reset of every open
//! connection, a black hole (connections accepted, nothing forwarded either way), a response cut in the middle,
//! and refusal of new connections.
//!
//! Faults act on whole chunks as read from a socket (up to 64 KiB): latency delays each chunk before it is
//! written on, a bandwidth limit sleeps after each chunk for its share of the second. Both directions are
//! handled alike; a cut acts on the broker-to-client direction only.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The faults applied to every connection, changeable at any time with [`FaultProxy::set`].
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Added to each chunk in each direction.
    pub latency: Duration,
    /// A random extra delay in [0, jitter) per chunk.
    pub jitter: Duration,
    /// Bytes per second in each direction of each connection; `None`: unlimited.
    pub bandwidth: Option<u64>,
    /// Connections stay open but nothing is read or forwarded, either way.
    pub black_hole: bool,
    /// New connections are closed as soon as they are accepted.
    pub refuse: bool,
}

/// What the proxy has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyCounts {
    pub accepted: u64,
    pub refused: u64,
    pub resets: u64,
    pub cuts: u64,
    pub bytes_to_broker: u64,
    pub bytes_to_client: u64,
}

struct State {
    upstream: SocketAddr,
    faults: Mutex<Faults>,
    cut_next: AtomicBool,
    conns: Mutex<HashMap<u64, [JoinHandle<()>; 2]>>,
    next_id: AtomicU64,
    rng: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    resets: AtomicU64,
    cuts: AtomicU64,
    to_broker: AtomicU64,
    to_client: AtomicU64,
}

/// One proxy: listens on 127.0.0.1:`port` until dropped (which resets every connection it holds).
pub struct FaultProxy {
    state: Arc<State>,
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1:`port` (0: any free port) and forwards to `upstream`.
    pub async fn start(port: u16, upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            upstream,
            faults: Mutex::new(Faults::default()),
            cut_next: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            rng: AtomicU64::new(0x9e37_79b9_7f4a_7c15 ^ u64::from(addr.port())),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            to_broker: AtomicU64::new(0),
            to_client: AtomicU64::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(FaultProxy { state, addr, accept })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the faults; open connections see the new ones from their next chunk.
    pub fn set(&self, faults: Faults) {
        *self.state.faults.lock().unwrap() = faults;
    }

    /// Resets (RST) every open connection; returns how many there were.
    pub fn reset_all(&self) -> usize {
        let conns: Vec<_> = self.state.conns.lock().unwrap().drain().collect();
        for (_, pumps) in &conns {
            pumps.iter().for_each(JoinHandle::abort);
        }
        self.state.resets.fetch_add(conns.len() as u64, Ordering::Relaxed);
        conns.len()
    }

    /// The next chunk the broker sends to any client is cut: half of it is forwarded, then that connection is
    /// reset, so the client sees a response frame that ends in the middle.
    pub fn cut_next_response(&self) {
        self.state.cut_next.store(true, Ordering::SeqCst);
    }

    /// Whether a requested cut has not happened yet.
    pub fn cut_pending(&self) -> bool {
        self.state.cut_next.load(Ordering::SeqCst)
    }

    pub fn counts(&self) -> ProxyCounts {
        let s = &self.state;
        ProxyCounts {
            accepted: s.accepted.load(Ordering::Relaxed),
            refused: s.refused.load(Ordering::Relaxed),
            resets: s.resets.load(Ordering::Relaxed),
            cuts: s.cuts.load(Ordering::Relaxed),
            bytes_to_broker: s.to_broker.load(Ordering::Relaxed),
            bytes_to_client: s.to_client.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.reset_all();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        if state.faults.lock().unwrap().refuse {
            state.refused.fetch_add(1, Ordering::Relaxed);
            let _ = client.set_zero_linger();
            drop(client);
            continue;
        }
        let broker = match TcpStream::connect(state.upstream).await {
            Ok(b) => b,
            Err(_) => {
                state.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        state.accepted.fetch_add(1, Ordering::Relaxed);
        // Linger 0: a connection dropped by a reset sends RST, as a crashed peer or middlebox would.
        for s in [&client, &broker] {
            let _ = s.set_zero_linger();
            let _ = s.set_nodelay(true);
        }
        let id = state.next_id.fetch_add(1, Ordering::Relaxed);
        let (client_r, client_w) = client.into_split();
        let (broker_r, broker_w) = broker.into_split();
        // Both pumps are registered before either runs, so a reset always finds the pair.
        let mut conns = state.conns.lock().unwrap();
        let ended = Arc::new(AtomicU64::new(0));
        let up = tokio::spawn(pump(state.clone(), id, ended.clone(), client_r, broker_w, Direction::ToBroker));
        let down = tokio::spawn(pump(state.clone(), id, ended, broker_r, client_w, Direction::ToClient));
        conns.insert(id, [up, down]);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToBroker,
    ToClient,
}

async fn pump(
    state: Arc<State>,
    id: u64,
    ended: Arc<AtomicU64>,
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    dir: Direction,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while state.faults.lock().unwrap().black_hole {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let faults = state.faults.lock().unwrap().clone();
        let delay = faults.latency + jitter(&state, faults.jitter);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        while state.faults.lock().unwrap().black_hole {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let cut = dir == Direction::ToClient
            && n >= 2
            && state.cut_next.compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst).is_ok();
        let chunk = if cut { &buf[..n / 2] } else { &buf[..n] };
        if to.write_all(chunk).await.is_err() {
            break;
        }
        let counter = if dir == Direction::ToBroker { &state.to_broker } else { &state.to_client };
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        if cut {
            state.cuts.fetch_add(1, Ordering::Relaxed);
            let _ = to.flush().await;
            // Give the half frame time to reach the client before the reset discards what is unsent.
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Some(pumps) = state.conns.lock().unwrap().remove(&id) {
                pumps.iter().for_each(JoinHandle::abort);
            }
            return;
        }
        if let Some(bw) = faults.bandwidth.filter(|bw| *bw > 0) {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / bw as f64)).await;
        }
    }
    // One side ended: pass the end on (FIN), and forget the connection once both directions are done.
    let _ = to.shutdown().await;
    if ended.fetch_add(1, Ordering::SeqCst) == 1 {
        state.conns.lock().unwrap().remove(&id);
    }
}

fn jitter(state: &State, max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    // xorshift64: reproducible for a given proxy port, no dependency.
    let mut x = state.rng.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.rng.store(x, Ordering::Relaxed);
    Duration::from_nanos(x % max.as_nanos().max(1) as u64)
}
