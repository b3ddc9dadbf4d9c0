//! The `imagefacts list -o table` view of a discovery, aligned like `kubectl get`.

use std::collections::BTreeMap;

use imagefacts_model::discovery::{Discovery, ImageUse, RunningDigestKind};

const HEADERS: [&str; 5] = ["IMAGE", "WORKLOADS", "NAMESPACES", "RUNNING", "PULL ERRORS"];

/// Spaces between columns (kubectl's tabwriter padding).
const PADDING: usize = 3;

/// Renders one line per image: the image, how many workload containers use it, their namespaces,
/// the digests running (12 hex characters; a local image ID is marked `id:`), and the pull errors
/// by reason with their count. Columns are left-aligned and padded like `kubectl get`; an empty
/// cell is `<none>`. Ends with a newline.
///
/// ```
/// use imagefacts_discovery::render_table;
/// use imagefacts_model::ImageRef;
/// use imagefacts_model::discovery::{Discovery, ImageUse};
///
/// let nginx = ImageUse::new(ImageRef::parse("docker.io/library/nginx:1.25"));
/// let d = Discovery { images: vec![nginx], ..Discovery::default() };
/// assert_eq!(
///     render_table(&d),
///     "IMAGE                          WORKLOADS   NAMESPACES   RUNNING   PULL ERRORS\n\
///      docker.io/library/nginx:1.25   0           <none>       <none>    <none>\n"
/// );
/// ```
pub fn render_table(d: &Discovery) -> String {
    // Every cell comes from the source: control characters are escaped, never printed.
    let rows: Vec<[String; 5]> = d
        .images
        .iter()
        .map(|i| row(i).map(|c| imagefacts_model::text::printable(&c).into_owned()))
        .collect();
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 5]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i] - cell.chars().count() + PADDING;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(HEADERS);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    out
}

fn row(image: &ImageUse) -> [String; 5] {
    let or_none = |s: String| if s.is_empty() { "<none>".to_owned() } else { s };
    let running: Vec<String> = image
        .running_digests
        .iter()
        .map(|r| {
            let short: String = r.digest.hex().chars().take(12).collect();
            match r.kind {
                RunningDigestKind::RepoDigest => short,
                RunningDigestKind::ImageId => format!("id:{short}"),
            }
        })
        .collect();
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &image.pull_failures {
        *reasons.entry(f.reason.as_str()).or_default() += 1;
    }
    let failures: Vec<String> = reasons
        .into_iter()
        .map(|(reason, n)| {
            if n == 1 {
                reason.to_owned()
            } else {
                format!("{reason}({n})")
            }
        })
        .collect();
    [
        image.reference.to_string(),
        image.workloads.len().to_string(),
        or_none(image.namespaces().join(",")),
        or_none(running.join(",")),
        or_none(failures.join(",")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagefacts_model::ImageRef;
    use imagefacts_model::discovery::{ContainerType, PullFailure, RunningDigest, WorkloadRef};

    #[test]
    fn renders_every_column() {
        let mut a = ImageUse::new(ImageRef::parse("docker.io/library/nginx:1.25"));
        for (ns, name) in [("shop", "web"), ("default", "hello"), ("shop", "web2")] {
            a.workloads.push(WorkloadRef {
                namespace: ns.into(),
                kind: "Deployment".into(),
                name: name.into(),
                container: "nginx".into(),
                container_type: ContainerType::Regular,
                pods: vec![],
                inferred: false,
                cluster: None,
            });
        }
        a.running_digests = vec![
            RunningDigest {
                digest: format!("sha256:{}", "ab".repeat(32)).parse().unwrap(),
                kind: RunningDigestKind::RepoDigest,
                repository: None,
                pods: vec![],
            },
            RunningDigest {
                digest: format!("sha256:{}", "cd".repeat(32)).parse().unwrap(),
                kind: RunningDigestKind::ImageId,
                repository: None,
                pods: vec![],
            },
        ];
        let mut b = ImageUse::new(ImageRef::parse("nginx:"));
        for pod in ["p1", "p2"] {
            b.pull_failures.push(PullFailure {
                namespace: "x".into(),
                pod: pod.into(),
                container: "c".into(),
                reason: "InvalidImageName".into(),
                message: String::new(),
            });
        }
        let d = Discovery {
            images: vec![a, b],
            ..Discovery::default()
        };
        let want = "\
IMAGE                          WORKLOADS   NAMESPACES     RUNNING                        PULL ERRORS
docker.io/library/nginx:1.25   3           default,shop   abababababab,id:cdcdcdcdcdcd   <none>
nginx:                         0           <none>         <none>                         InvalidImageName(2)
";
        assert_eq!(render_table(&d), want);
    }

    #[test]
    fn empty_discovery_has_a_header() {
        assert_eq!(
            render_table(&Discovery::default()),
            "IMAGE   WORKLOADS   NAMESPACES   RUNNING   PULL ERRORS\n"
        );
    }
}
