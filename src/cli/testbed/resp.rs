//! A minimal Redis client (RESP2 over one TCP connection): enough for the testbed's
//! sessions, carts and probes, with no dependency beyond tokio.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A reply: a simple string or bulk string (None for nil), an integer, or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Str(Option<Vec<u8>>),
    Int(i64),
    Err(String),
}

pub struct Redis {
    stream: BufReader<TcpStream>,
}

impl Redis {
    pub async fn connect(addr: &str) -> std::io::Result<Redis> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Redis { stream: BufReader::new(s) })
    }

    /// Sends one command and reads its reply.
    pub async fn cmd(&mut self, args: &[&[u8]]) -> std::io::Result<Reply> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a);
            buf.extend_from_slice(b"\r\n");
        }
        self.stream.get_mut().write_all(&buf).await?;
        self.read_reply().await
    }

    async fn read_reply(&mut self) -> std::io::Result<Reply> {
        let mut line = String::new();
        if self.stream.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "redis closed the connection"));
        }
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "unexpected redis reply");
        let body = line.trim_end();
        let (kind, rest) = body.split_at(1.min(body.len()));
        match kind {
            "+" => Ok(Reply::Str(Some(rest.as_bytes().to_vec()))),
            "-" => Ok(Reply::Err(rest.to_string())),
            ":" => rest.parse().map(Reply::Int).map_err(|_| bad()),
            "$" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                if n < 0 {
                    return Ok(Reply::Str(None));
                }
                let mut data = vec![0; n as usize + 2];
                self.stream.read_exact(&mut data).await?;
                data.truncate(n as usize);
                Ok(Reply::Str(Some(data)))
            }
            _ => Err(bad()),
        }
    }

    /// A bulk or simple string reply as text ("" for nil).
    pub async fn text(&mut self, args: &[&[u8]]) -> std::io::Result<String> {
        match self.cmd(args).await? {
            Reply::Str(s) => Ok(String::from_utf8_lossy(&s.unwrap_or_default()).into_owned()),
            Reply::Int(i) => Ok(i.to_string()),
            Reply::Err(e) => Err(std::io::Error::other(e)),
        }
    }
}
