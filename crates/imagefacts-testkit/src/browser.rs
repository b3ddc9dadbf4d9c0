//! A real headless Chromium driven over W3C WebDriver by Debian's `chromedriver`.
//!
//! [`Browser::start`] runs `chromedriver` on a free 127.0.0.1 port and opens a session of
//! `/usr/bin/chromium` (headless, no sandbox as root, a fresh profile, every background service
//! that would reach the network off) that records the console and the network (Chromium's
//! `browser` and `performance` logs). The client is a few synchronous HTTP/1.1 calls: the W3C
//! commands a test needs (navigate, find, click, type, run a script, screenshot) and the two
//! logs. Dropping the [`Browser`] ends the session and kills the driver, which takes the browser
//! with it.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C key of an element reference in a response.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running headless Chromium with a WebDriver session.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

/// An element of the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(String);

/// A console message the page logged (Chromium's `browser` log).
#[derive(Debug, Clone)]
pub struct ConsoleEntry {
    /// `SEVERE`, `WARNING`, `INFO`, ...
    pub level: String,
    /// The message, with its source.
    pub message: String,
}

/// Whether the browser and its driver are installed (`/usr/bin/chromium`, `chromedriver`).
pub fn browser_installed() -> bool {
    Path::new(CHROMIUM).exists() && which("chromedriver").is_some()
}

const CHROMIUM: &str = "/usr/bin/chromium";

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
}

impl Browser {
    /// Starts chromedriver and a session with a `width`×`height` window.
    pub fn start(width: u32, height: u32) -> anyhow::Result<Browser> {
        let driver_path = which("chromedriver")
            .context("chromedriver is not installed (Debian package chromium-driver)")?;
        let port = crate::free_port()?;
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start chromedriver")?;
        let profile = tempfile::tempdir()?;
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match browser.call("GET", "/status", None) {
                Ok(v) if v["ready"] == json!(true) => break,
                _ if Instant::now() > deadline => bail!("chromedriver did not get ready in 20 s"),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-features=Translate,OptimizationHints,MediaRouter".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let v = browser.call("POST", "/session", Some(&caps))?;
        browser.session = v["sessionId"]
            .as_str()
            .context("no session id from chromedriver")?
            .to_owned();
        // What the browser did on its own before the test (its new-tab page) is not the test's.
        browser.goto("about:blank")?;
        browser.log("browser")?;
        browser.log("performance")?;
        Ok(browser)
    }

    /// One WebDriver call; the `value` of the answer, or its error.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        // chromedriver keeps the connection open whatever the request says: the answer ends
        // where its Content-Length says (it sends no other framing).
        let mut raw = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        let payload = loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                bail!("{method} {path}: chromedriver closed the connection mid-answer");
            }
            raw.extend_from_slice(&buf[..n]);
            if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
                continue;
            }
            let answer = crate::upload::Answer::parse(&raw)?;
            let length: usize = answer
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("{method} {path}: an answer without a Content-Length"))?;
            if answer.body.len() >= length {
                break answer.body[..length].to_vec();
            }
        };
        let v: Value = serde_json::from_slice(&payload)
            .with_context(|| format!("{method} {path}: answer is not JSON"))?;
        if let Some(err) = v["value"].get("error") {
            bail!("{method} {path}: {err}: {}", v["value"]["message"]);
        }
        Ok(v["value"].clone())
    }

    fn session_call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `url` and waits for its load.
    pub fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.session_call("POST", "/url", Some(&json!({ "url": url })))?;
        Ok(())
    }

    /// The `file://` URL of `path`.
    pub fn file_url(path: &Path) -> anyhow::Result<String> {
        let abs = std::fs::canonicalize(path)?;
        Ok(format!("file://{}", abs.display()))
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns what it returns.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": args})),
        )
    }

    /// The first element matching a CSS selector.
    pub fn find(&self, css: &str) -> anyhow::Result<Element> {
        let v = self.session_call(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        )?;
        element(&v).with_context(|| format!("no element {css}"))
    }

    /// Every element matching a CSS selector.
    pub fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element>> {
        let v = self.session_call(
            "POST",
            "/elements",
            Some(&json!({"using": "css selector", "value": css})),
        )?;
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(element).collect())
            .unwrap_or_default())
    }

    /// Clicks an element as a user would (scrolled into view, at its centre).
    pub fn click(&self, e: &Element) -> anyhow::Result<()> {
        self.session_call("POST", &format!("/element/{}/click", e.0), Some(&json!({})))?;
        Ok(())
    }

    /// Types `text` into an element, key by key.
    pub fn type_text(&self, e: &Element, text: &str) -> anyhow::Result<()> {
        self.session_call(
            "POST",
            &format!("/element/{}/value", e.0),
            Some(&json!({ "text": text })),
        )?;
        Ok(())
    }

    /// Empties an input as a user would: select all, then backspace (which fires `input`, as
    /// WebDriver's own clear does not).
    pub fn clear(&self, e: &Element) -> anyhow::Result<()> {
        self.type_text(e, "\u{E009}a\u{E000}\u{E003}")
    }

    /// An element's rendered text.
    pub fn text(&self, e: &Element) -> anyhow::Result<String> {
        let v = self.session_call("GET", &format!("/element/{}/text", e.0), None)?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Saves a screenshot of the window as PNG.
    pub fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let v = self.session_call("GET", "/screenshot", None)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().context("no screenshot data")?)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Sets the window's size (a screenshot shows the window only).
    pub fn resize(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.session_call(
            "POST",
            "/window/rect",
            Some(&json!({"width": width, "height": height})),
        )?;
        Ok(())
    }

    /// What the page logged on the console since the last call.
    pub fn console(&self) -> anyhow::Result<Vec<ConsoleEntry>> {
        Ok(self
            .log("browser")?
            .into_iter()
            .map(|e| ConsoleEntry {
                level: e["level"].as_str().unwrap_or_default().to_owned(),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// The URL of every request the browser set out to make since the last call
    /// (`Network.requestWillBeSent` in Chromium's performance log), the page's own load included.
    pub fn requests(&self) -> anyhow::Result<Vec<String>> {
        let mut urls = Vec::new();
        for e in self.log("performance")? {
            let Some(message) = e["message"].as_str() else {
                continue;
            };
            let m: Value = serde_json::from_str(message).unwrap_or(Value::Null);
            if m["message"]["method"] == "Network.requestWillBeSent" {
                urls.push(
                    m["message"]["params"]["request"]["url"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
        Ok(urls)
    }

    fn log(&self, kind: &str) -> anyhow::Result<Vec<Value>> {
        let v = self.session_call("POST", "/se/log", Some(&json!({ "type": kind })))?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }
}

impl Element {
    /// The element as an argument of [`Browser::execute`] (the script sees the DOM node).
    pub fn to_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}

fn element(v: &Value) -> Option<Element> {
    v.get(ELEMENT_KEY)
        .and_then(Value::as_str)
        .map(|s| Element(s.to_owned()))
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
