//! `imagefacts report --html` (issue 16), driven in a real headless Chromium from `file://`
//! through Debian's chromedriver: the page written from facts the real binary collected from a
//! real registry shows one row per image, filters, sorts, expands, logs no console error, sets
//! out on no request, and shows hostile strings as text. Each test keeps a screenshot under
//! `target/tmp/html/`.

use std::path::{Path, PathBuf};

use imagefacts_testkit::{Browser, ImageSpec, OciLayout, Registry, RegistryKind, bulk_facts};
use serde_json::{Value, json};

use crate::support::imagefacts;

/// A label value and a reference that would run script if inserted as HTML.
const HOSTILE_LABEL: &str = "<script>window.__pwned='label'</script><b>bold</b>";
const HOSTILE_REFERENCE: &str = "\"><img src=x onerror=\"window.__pwned='reference'\">";

/// Label keys a page script keyed by strings would trip over, and a right-to-left override that
/// would make a value read as another.
const HOSTILE_LABEL_KEYS: [(&str, &str); 4] = [
    ("", "empty key"),
    ("__proto__", "proto"),
    ("constructor", "ctor"),
    ("com.example.bidi", "\u{202e}gnp.exe"),
];

/// A 127.0.0.1 server that answers every request with a 404 and records it.
struct CountingListener {
    server: imagefacts_testkit::ScriptedServer,
    port: u16,
}

impl CountingListener {
    fn start() -> CountingListener {
        let server =
            imagefacts_testkit::ScriptedServer::start(|_| imagefacts_testkit::Reply::new(404))
                .unwrap();
        let port = server.host().rsplit(':').next().unwrap().parse().unwrap();
        CountingListener { server, port }
    }

    /// Requests it has seen.
    fn seen(&self) -> usize {
        self.server.requests().len()
    }
}

/// Where a test's screenshot goes.
fn screenshot(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("html")
        .join(format!("{name}.png"))
}

/// Bytes that do not compress, so layer sizes differ as their contents do.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// An image of `layers` layers of `kib` KiB each.
fn image(layers: usize, kib: usize, seed: u64) -> ImageSpec {
    let mut spec = ImageSpec::simple("amd64");
    spec.layers = (0..layers)
        .map(|l| {
            vec![(
                format!("data/{l}.bin"),
                noise(kib * 1024, seed * 100 + l as u64),
            )]
        })
        .collect();
    spec
}

/// The facts of a small shop collected from a real registry, and the page written from them.
struct Shop {
    registry: Registry,
    _dir: tempfile::TempDir,
    facts: Value,
    page: PathBuf,
}

impl Shop {
    fn entry(&self, repository: &str) -> &Value {
        self.facts["imageFacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["repository"] == repository)
            .unwrap_or_else(|| panic!("no entry of {repository}"))
    }
}

fn shop() -> Shop {
    let registry = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(&dir.path().join("layout")).unwrap();
    let mut web = image(3, 40, 1);
    web.labels
        .insert("com.example.note".into(), HOSTILE_LABEL.into());
    for (key, value) in HOSTILE_LABEL_KEYS {
        web.labels.insert(key.into(), value.into());
    }
    layout.add_image("web", &web).unwrap();
    layout.add_image("big", &image(4, 300, 2)).unwrap();
    layout.add_image("report", &image(1, 8, 3)).unwrap();
    layout.add_image("exporter", &image(2, 120, 4)).unwrap();
    registry.seed(&layout, "web", "shop/web:1").unwrap();
    registry.seed(&layout, "big", "shop/big:2").unwrap();
    registry.seed(&layout, "report", "batch/report:1").unwrap();
    registry
        .seed(&layout, "exporter", "monitoring/exporter:1")
        .unwrap();
    let host = registry.host();
    let deployment = |ns: &str, name: &str, image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": ns},
               "spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}}})
    };
    let objects = json!({"apiVersion": "v1", "kind": "List", "items": [
        deployment("shop", "web", &format!("{host}/shop/web:1")),
        deployment("shop", "big", &format!("{host}/shop/big:2")),
        deployment("shop", "gone", &format!("{host}/shop/gone:1")),
        deployment("batch", "report", &format!("{host}/batch/report:1")),
        deployment("monitoring", "exporter", &format!("{host}/monitoring/exporter:1")),
        deployment("evil", "xss", HOSTILE_REFERENCE),
    ]});
    let manifests = dir.path().join("cluster.json");
    std::fs::write(&manifests, objects.to_string()).unwrap();
    let facts_path = dir.path().join("facts.json");
    let mut args = vec![
        "collect".to_owned(),
        "--manifests".to_owned(),
        manifests.display().to_string(),
        "-o".to_owned(),
        facts_path.display().to_string(),
    ];
    args.extend(registry.imagefacts_args());
    let run = imagefacts(&args);
    assert!(facts_path.exists(), "status {}: {}", run.status, run.stderr);
    let facts: Value = serde_json::from_slice(&std::fs::read(&facts_path).unwrap()).unwrap();
    let page = dir.path().join("report.html");
    let run = imagefacts(&[
        "report",
        "--html",
        "-o",
        page.to_str().unwrap(),
        facts_path.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    Shop {
        registry,
        _dir: dir,
        facts,
        page,
    }
}

/// A browser on `page`, ready; the page's own load is the one request it made.
fn open(page: &Path) -> (Browser, String) {
    let browser =
        Browser::start(1400, 1000).expect("headless Chromium starts (chromium, chromium-driver)");
    let url = Browser::file_url(page).unwrap();
    browser.goto(&url).unwrap();
    // The page inflates its data, then renders.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while eval::<Value>(
        &browser,
        "return document.documentElement.dataset.ready || null;",
    ) != json!("1")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the page did not render in 20 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (browser, url)
}

/// Asserts the page logged no error and set out on no request but its own load.
fn assert_quiet(browser: &Browser, url: &str) {
    let console = browser.console().unwrap();
    let errors: Vec<_> = console.iter().filter(|e| e.level == "SEVERE").collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let requests = browser.requests().unwrap();
    let others: Vec<&String> = requests.iter().filter(|u| *u != url).collect();
    assert!(others.is_empty(), "requests besides the page: {others:?}");
}

/// What `script` (a function body) returns in the page.
fn eval<T: serde::de::DeserializeOwned>(browser: &Browser, script: &str) -> T {
    eval_with(browser, script, vec![])
}

fn eval_with<T: serde::de::DeserializeOwned>(
    browser: &Browser,
    script: &str,
    args: Vec<Value>,
) -> T {
    let v = browser.execute(script, args).unwrap();
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{script}: {v} ({e})"))
}

/// The text of every visible image row's cell of column `col`.
fn column(browser: &Browser, col: &str) -> Vec<String> {
    eval_with(
        browser,
        "return Array.from(document.querySelectorAll('#rows tr.image-row td[data-col=\"' + arguments[0] + '\"]')).map(function (td) { return td.textContent; });",
        vec![json!(col)],
    )
}

/// The full reference of every visible image row, in order.
fn references(browser: &Browser) -> Vec<String> {
    eval(
        browser,
        "return Array.from(document.querySelectorAll('#rows tr.image-row td[data-col=image]')).map(function (td) { return td.title; });",
    )
}

/// The cells of every row of the open detail's `table.<class>`.
fn detail_table(browser: &Browser, class: &str) -> Vec<Vec<String>> {
    eval_with(
        browser,
        "return Array.from(document.querySelectorAll('#rows tr.detail-row table.' + arguments[0] + ' tbody tr')).map(function (tr) { return Array.from(tr.cells).map(function (td) { return td.textContent; }); });",
        vec![json!(class)],
    )
}

#[test]
fn the_page_shows_every_image_once_with_the_insights_first() {
    let shop = shop();
    let entries = shop.facts["imageFacts"].as_array().unwrap();
    assert_eq!(entries.len(), 6, "{:#}", shop.facts);
    let (browser, url) = open(&shop.page);
    browser.screenshot(&screenshot("shop")).unwrap();

    let rows = browser.find_all("#rows tr.image-row").unwrap();
    assert_eq!(rows.len(), entries.len(), "one row per image");
    let mut shown = references(&browser);
    shown.sort();
    let mut expected: Vec<String> = entries
        .iter()
        .map(|f| f["reference"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    assert_eq!(shown, expected);

    // The summary header, then the insights, worst first, then the table.
    let images = browser.find("[data-card=images] .value").unwrap();
    assert_eq!(browser.text(&images).unwrap(), "6");
    let order = eval::<Value>(
        &browser,
        "return Array.from(document.querySelectorAll('main > header, main > section')).map(function (s) { return s.id || s.tagName; });",
    );
    assert_eq!(
        order,
        json!(["HEADER", "insights", "charts", "images-section"])
    );
    let severities: Vec<String> = eval(
        &browser,
        "return Array.from(document.querySelectorAll('#insights .insight .sev')).map(function (s) { return s.textContent; });",
    );
    assert!(!severities.is_empty());
    let rank = |s: &str| {
        ["error", "warn", "info"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    assert!(
        severities.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "{severities:?}"
    );
    assert_quiet(&browser, &url);
}

#[test]
fn text_and_status_filters_narrow_the_rows() {
    let shop = shop();
    let (browser, url) = open(&shop.page);
    let filter = browser.find("#filter").unwrap();
    browser.type_text(&filter, "shop/").unwrap();
    let images = column(&browser, "image");
    assert_eq!(images.len(), 3, "{images:?}");
    assert!(images.iter().all(|i| i.contains("/shop/")), "{images:?}");
    browser.screenshot(&screenshot("filter-text")).unwrap();

    browser.clear(&filter).unwrap();
    assert_eq!(column(&browser, "image").len(), 6);
    // The namespace filter matches a namespace an image is used in.
    let batch = browser.find("#namespace option[value=batch]").unwrap();
    browser.click(&batch).unwrap();
    assert_eq!(column(&browser, "namespace"), ["batch"]);
    let all = browser.find("#namespace option[value='']").unwrap();
    browser.click(&all).unwrap();

    let not_found = browser.find("#status option[value=notFound]").unwrap();
    browser.click(&not_found).unwrap();
    let statuses = column(&browser, "status");
    assert_eq!(statuses, ["notFound"]);
    assert_eq!(
        column(&browser, "image")[0],
        format!("{}/shop/gone", shop.registry.host())
    );
    let failed = browser
        .find("#status option[value='group:failed']")
        .unwrap();
    browser.click(&failed).unwrap();
    let mut statuses = column(&browser, "status");
    statuses.sort();
    assert_eq!(statuses, ["invalidReference", "notFound"]);
    // Both filters at once: nothing in batch failed.
    browser
        .click(&browser.find("#namespace option[value=batch]").unwrap())
        .unwrap();
    assert!(column(&browser, "status").is_empty());
    let count = browser.find("#count").unwrap();
    assert_eq!(browser.text(&count).unwrap(), "0 images of 6 match");
    browser.screenshot(&screenshot("filter-status")).unwrap();
    assert_quiet(&browser, &url);
}

#[test]
fn sorting_by_size_orders_the_rows() {
    let shop = shop();
    let (browser, url) = open(&shop.page);
    let size_header = browser.find("th[data-key=size] button").unwrap();
    browser.click(&size_header).unwrap();
    let sizes_of = |browser: &Browser| -> Vec<u64> {
        references(browser)
            .iter()
            .map(|r| {
                shop.facts["imageFacts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["reference"] == r.as_str())
                    .unwrap()["size"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    };
    let down = sizes_of(&browser);
    assert_eq!(down.len(), 6);
    assert!(
        down.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {down:?}"
    );
    assert!(down[0] > 1_000_000, "the 1.2 MB image leads: {down:?}");
    let header = browser.find("th[data-key=size]").unwrap();
    let sort = browser
        .execute(
            "return arguments[0].getAttribute('aria-sort');",
            vec![header.to_arg()],
        )
        .unwrap();
    assert_eq!(sort, "descending");
    browser.screenshot(&screenshot("sort-size")).unwrap();
    browser.click(&size_header).unwrap();
    let up = sizes_of(&browser);
    assert!(
        up.windows(2).all(|w| w[0] <= w[1]),
        "smallest first: {up:?}"
    );
    let mut reversed = down.clone();
    reversed.reverse();
    assert_eq!(up, reversed);
    assert_quiet(&browser, &url);
}

#[test]
fn expanding_a_row_shows_its_layers_config_and_labels() {
    let shop = shop();
    let (browser, url) = open(&shop.page);
    let host = shop.registry.host();
    let filter = browser.find("#filter").unwrap();
    browser
        .type_text(&filter, &format!("{host}/shop/big"))
        .unwrap();
    let row = browser.find("#rows tr.image-row").unwrap();
    assert!(browser.find_all("#rows tr.detail-row").unwrap().is_empty());
    browser.click(&row).unwrap();
    let layers: Vec<(String, String)> = detail_table(&browser, "layers")
        .into_iter()
        .map(|cells| (cells[1].clone(), cells[2].clone()))
        .collect();
    let entry = shop.entry("shop/big");
    let expected: Vec<String> = entry["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 4);
    assert_eq!(
        layers.iter().map(|l| l.0.clone()).collect::<Vec<_>>(),
        expected,
        "every layer, in order"
    );
    assert!(layers.iter().all(|l| l.1.ends_with("KiB")), "{layers:?}");
    let detail = browser.find("#rows tr.detail-row").unwrap();
    let text = browser.text(&detail).unwrap();
    assert!(
        text.contains(entry["configDigest"].as_str().unwrap()),
        "{text}"
    );
    assert!(text.contains("Deployment shop/big (big)"), "{text}");
    browser.screenshot(&screenshot("expand-layers")).unwrap();
    // A second click folds it.
    browser
        .click(&browser.find("#rows tr.image-row").unwrap())
        .unwrap();
    assert!(browser.find_all("#rows tr.detail-row").unwrap().is_empty());

    // The failed image's detail says what failed, and at which step.
    browser.clear(&filter).unwrap();
    browser.type_text(&filter, "shop/gone").unwrap();
    browser
        .click(&browser.find("#rows tr.image-row").unwrap())
        .unwrap();
    let error = browser.find("#rows tr.detail-row .error-box").unwrap();
    let text = browser.text(&error).unwrap();
    assert!(text.contains("notFound") && text.contains("step"), "{text}");
    assert_quiet(&browser, &url);
}

#[test]
fn hostile_labels_and_references_show_as_text_and_run_nothing() {
    let shop = shop();
    let (browser, url) = open(&shop.page);
    let host = shop.registry.host();
    // The hostile reference's row shows it verbatim.
    let filter = browser.find("#filter").unwrap();
    browser.type_text(&filter, "onerror").unwrap();
    let images = column(&browser, "image");
    assert_eq!(images, [HOSTILE_REFERENCE]);
    // The label, in the web image's detail.
    browser.clear(&filter).unwrap();
    browser
        .type_text(&filter, &format!("{host}/shop/web"))
        .unwrap();
    browser
        .click(&browser.find("#rows tr.image-row").unwrap())
        .unwrap();
    let labels: Vec<(String, String)> = detail_table(&browser, "labels")
        .into_iter()
        .map(|cells| (cells[0].clone(), cells[1].clone()))
        .collect();
    assert!(
        labels.contains(&("com.example.note".to_owned(), HOSTILE_LABEL.to_owned())),
        "{labels:?}"
    );
    for (key, value) in HOSTILE_LABEL_KEYS {
        // Control and bidirectional characters are shown escaped, as the terminal shows them.
        let shown = value.replace('\u{202e}', "\\u{202e}");
        assert!(
            labels.contains(&(key.to_owned(), shown.clone())),
            "{key:?} = {shown:?} in {labels:?}"
        );
    }
    browser.screenshot(&screenshot("hostile")).unwrap();
    // Nothing was inserted as markup (markup would add an img, a b, a script element; what it
    // would run the policy blocks, which the next test shows).
    let state = eval::<Value>(
        &browser,
        "return {pwned: window.__pwned === undefined ? null : window.__pwned, imgs: document.querySelectorAll('img').length, scripts: document.querySelectorAll('#app script').length, bold: document.querySelectorAll('#app b').length};",
    );
    assert_eq!(
        state,
        json!({"pwned": null, "imgs": 0, "scripts": 0, "bold": 0})
    );
    assert_quiet(&browser, &url);
}

/// The counters the other tests rely on see what a page does: a page that loads an image from a
/// local listener, and runs an inline handler its policy forbids, is caught by both.
#[test]
fn the_request_and_console_counters_catch_a_page_that_misbehaves() {
    let listener = CountingListener::start();
    let port = listener.port;
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"img-src http://127.0.0.1:{port}\"></head>\
             <body><img src=\"http://127.0.0.1:{port}/pixel.png\"><img src=\"https://example.invalid/x.png\">\
             <script>document.documentElement.dataset.ready = '1'; setTimeout(function () {{ throw new Error('canary-throw'); }}, 0);</script></body></html>"
        ),
    )
    .unwrap();
    let (browser, url) = open(&page);
    let requests = browser.requests().unwrap();
    assert!(
        requests.contains(&format!("http://127.0.0.1:{port}/pixel.png")),
        "{requests:?}"
    );
    assert!(requests.iter().any(|u| u != &url));
    assert!(listener.seen() >= 1, "the listener saw the image request");
    // The blocked image is a console error, and so is an uncaught exception (what a broken
    // page script would log).
    std::thread::sleep(std::time::Duration::from_millis(200));
    let console = browser.console().unwrap();
    assert!(
        console
            .iter()
            .any(|e| e.level == "SEVERE" && e.message.contains("example.invalid")),
        "the blocked image is a console error: {console:#?}"
    );
    assert!(
        console
            .iter()
            .any(|e| e.level == "SEVERE" && e.message.contains("canary-throw")),
        "an uncaught exception is a console error: {console:#?}"
    );
}

/// The page's policy holds against what an injected string would need: an image from the
/// network, an inline handler, markup through `innerHTML` (Trusted Types).
#[test]
fn the_pages_policy_blocks_loads_inline_handlers_and_markup_sinks() {
    let shop = shop();
    let (browser, _url) = open(&shop.page);
    let listener = CountingListener::start();
    let probe: Value = eval_with(
        &browser,
        "var violations = [];\
         document.addEventListener('securitypolicyviolation', function (e) { violations.push(e.violatedDirective); });\
         var img = document.createElement('img');\
         img.src = 'http://127.0.0.1:' + arguments[0] + '/pixel.png';\
         document.body.appendChild(img);\
         var handler, sink;\
         var b = document.createElement('button');\
         try { b.setAttribute('onclick', 'window.__clicked = 1'); handler = 'allowed'; } catch (e) { handler = e.name; }\
         document.body.appendChild(b); b.click();\
         try { document.createElement('div').innerHTML = '<b>x</b>'; sink = 'allowed'; } catch (e) { sink = e.name; }\
         return new Promise(function (done) { setTimeout(function () {\
           done({violations: violations, clicked: window.__clicked === undefined ? null : 1, handler: handler, sink: sink});\
         }, 500); });",
        vec![json!(listener.port)],
    );
    assert_eq!(probe["clicked"], Value::Null, "{probe}");
    assert_eq!(
        probe["sink"], "TypeError",
        "Trusted Types refuse innerHTML: {probe}"
    );
    let violations: Vec<String> = serde_json::from_value(probe["violations"].clone()).unwrap();
    assert!(
        violations.iter().any(|v| v.starts_with("img-src")),
        "{probe}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("require-trusted-types-for")),
        "{probe}"
    );
    assert_eq!(listener.seen(), 0, "the blocked image reached the listener");
    // The request counter counts attempts, blocked ones too: the other tests' "no request"
    // means none was even attempted.
    let requests = browser.requests().unwrap();
    assert!(
        requests
            .iter()
            .any(|u| u.contains(&format!("127.0.0.1:{}/pixel.png", listener.port))),
        "{requests:?}"
    );
}

#[test]
fn five_thousand_images_are_paged_and_the_file_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.json");
    std::fs::write(&facts, bulk_facts(5000).to_string()).unwrap();
    let page = dir.path().join("big.html");
    let run = imagefacts(&[
        "report",
        "--html",
        "-o",
        page.to_str().unwrap(),
        facts.to_str().unwrap(),
        "--now",
        "2026-12-01T12:00:00Z",
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size <= 5 * 1024 * 1024, "the page is {size} bytes");
    let (browser, url) = open(&page);
    assert_eq!(browser.find_all("#rows tr.image-row").unwrap().len(), 100);
    // The insights beyond the first 20 are one click away.
    assert_eq!(browser.find_all("#insights .insight").unwrap().len(), 20);
    let more = browser.find("#more-insights").unwrap();
    let label = browser.text(&more).unwrap();
    let total: usize = label
        .split_whitespace()
        .nth(2)
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    assert!(total > 20, "{label}");
    browser.click(&more).unwrap();
    assert_eq!(browser.find_all("#insights .insight").unwrap().len(), total);
    // The cluster's platform is marked where the image has it.
    assert!(!browser.find_all("#rows .plat.runs").unwrap().is_empty());
    let pager = browser.find("#page").unwrap();
    assert_eq!(
        browser.text(&pager).unwrap(),
        "1–100 of 5,000 (page 1 of 50)"
    );
    browser.click(&browser.find("#next").unwrap()).unwrap();
    assert_eq!(
        browser.text(&pager).unwrap(),
        "101–200 of 5,000 (page 2 of 50)"
    );
    let filter = browser.find("#filter").unwrap();
    browser.type_text(&filter, "app-04999").unwrap();
    assert_eq!(
        column(&browser, "image"),
        ["registry.example.com/team-39/app-04999"]
    );
    browser.clear(&filter).unwrap();
    browser
        .click(&browser.find("th[data-key=size] button").unwrap())
        .unwrap();
    browser.screenshot(&screenshot("five-thousand")).unwrap();
    assert_eq!(browser.find_all("#rows tr.image-row").unwrap().len(), 100);
    assert_quiet(&browser, &url);
}

#[test]
fn report_o_names_a_format_or_with_html_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.json");
    std::fs::write(&facts, bulk_facts(3).to_string()).unwrap();
    // -o html: the page on stdout.
    let run = imagefacts(&["report", "-o", "html", facts.to_str().unwrap()]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("<!DOCTYPE html>"));
    assert!(run.stdout.contains("Content-Security-Policy"));
    // A file name without --html is refused, naming the fix; nothing is written.
    let target = dir.path().join("page.html");
    let run = imagefacts(&[
        "report",
        "-o",
        target.to_str().unwrap(),
        facts.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 2, "a usage error");
    assert!(run.stderr.contains("--output"), "{}", run.stderr);
    assert!(
        run.stderr.contains("expected table, json or html"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--html -o"), "{}", run.stderr);
    assert!(!target.exists());
}

#[test]
fn bundle_add_to_writes_the_page_into_image_facts_unless_no_html() {
    let shop = shop();
    let dir = tempfile::tempdir().unwrap();
    let host = shop.registry.host();
    let running = shop.entry("shop/web")["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let bundle =
        crate::support::write_bundle(dir.path(), &host, "shop/web:1", &running, "batch/report:1");
    let mut args = vec![
        "bundle".to_owned(),
        "--add-to".to_owned(),
        bundle.display().to_string(),
    ];
    args.extend(shop.registry.imagefacts_args());
    let run = imagefacts(&args);
    let page = bundle.join("image-facts/report.html");
    assert!(page.is_file(), "status {}: {}", run.status, run.stderr);
    let facts: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("image-facts/facts.json")).unwrap())
            .unwrap();
    let (browser, url) = open(&page);
    assert_eq!(
        browser.find_all("#rows tr.image-row").unwrap().len(),
        facts["imageFacts"].as_array().unwrap().len()
    );
    // The bundle's nodes are arm64; the images are amd64 only: nothing is marked as runnable.
    assert!(browser.find_all("#rows .plat.runs").unwrap().is_empty());
    browser.screenshot(&screenshot("bundle")).unwrap();
    assert_quiet(&browser, &url);

    // --no-html: facts and insights, no page.
    args.insert(1, "--no-html".to_owned());
    args.insert(1, "--force".to_owned());
    let run = imagefacts(&args);
    assert!(
        bundle.join("image-facts/facts.json").is_file(),
        "{}",
        run.stderr
    );
    assert!(bundle.join("image-facts/analysis.json").is_file());
    assert!(!page.exists(), "--no-html left a page: {}", run.stderr);
}
