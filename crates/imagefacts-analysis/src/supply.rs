//! Supply chain: images checked with `--supply-chain` that carry no signature (and what they
//! carry instead).

use imagefacts_model::facts::FactsFile;

use crate::image_finding;
use crate::result::{Finding, Severity};

pub(crate) fn analyze(file: &FactsFile) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in &file.image_facts {
        let Some(chain) = &f.supply_chain else {
            continue;
        };
        if chain.signed {
            continue;
        }
        let mut has = Vec::new();
        if chain.attested {
            has.push("an attestation");
        }
        if chain.sbom {
            has.push("an SBOM");
        }
        let carries = if has.is_empty() {
            "nothing else either".to_owned()
        } else {
            format!("it carries {}", has.join(" and "))
        };
        out.push(image_finding(
            f,
            "supplyChain",
            "unsigned",
            Severity::Info,
            "Supply chain: unsigned image".into(),
            format!(
                "{} has no signature ({carries}; looked up by {}).",
                f.reference,
                match chain.method {
                    imagefacts_model::facts::SupplyChainMethod::ReferrersApi => "the referrers API",
                    imagefacts_model::facts::SupplyChainMethod::TagSchema =>
                        "the sha256-<hex> tag schema",
                }
            ),
            "sign the image (cosign sign, notation sign) and verify signatures at admission".into(),
        ));
    }
    out
}
