//! The small fixture corpus the answer tests share: three pages in the
//! corpus's own format, ingested once per test binary (BM25 only).

use std::path::Path;
use std::sync::OnceLock;

use sextant_answer::{Engine, Retriever};

pub fn page(dir: &Path, name: &str, title: &str, url: &str, body: &str) {
    let text = format!("---\naudienceLevel: patient\nlastReviewed: '2025-12-30'\ntitle: {title} - NCI\nurl: {url}\n---\n\n# {title} - NCI\n\n# {title}\n\n{body}");
    std::fs::write(dir.join(name), text).unwrap();
}

/// Three small pages in the corpus's own format.
pub fn write_fixture(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    page(dir, "liver.md", "Liver Cancer Treatment", "https://www.cancer.gov/types/liver/what-is-liver-cancer/treatment",
        "## Types of treatment\n\n### Surgery\n\nA partial [hepatectomy](/Common/PopUps/popDefinition.aspx?id=1234) (surgery to remove the part of the liver where cancer is found) may be done. A wedge of tissue, an entire lobe, or a larger part of the liver is removed. The remaining liver tissue takes over the functions of the liver and may regrow.\n\n### Liver transplant\n\nIn a liver transplant, the entire liver is removed and replaced with a healthy donated liver. A liver transplant may be done when the disease is in the liver only and a donated liver can be found.\n\n### Embolization therapy\n\nEmbolization therapy is used for people who cannot have surgery to remove the tumor or ablation therapy. It blocks the flow of blood to the tumor.\n\n## Treatment of metastatic liver cancer\n\nTreatment of metastatic liver cancer may include:\n\n- targeted therapy\n- immunotherapy\n- radiation therapy\n\nMetastatic liver cancer cannot be completely removed by surgery.\n");
    page(dir, "colon.md", "Colon Cancer Treatment", "https://www.cancer.gov/types/colorectal/patient/colon-treatment-pdq",
        "## Surgery\n\nSurgery to remove the cancer is the most common treatment for all stages of colon cancer. If the cancer has spread to the liver, surgery to remove the part of the liver with cancer may be done. Chemotherapy may be given after surgery to kill any cancer cells that are left.\n\n## Stages\n\nStage IV colon cancer has spread to distant organs such as the liver or lungs. The stage is found from tests done before and after surgery.\n");
    page(dir, "coping.md", "Feelings and Cancer", "https://www.cancer.gov/about-cancer/coping/feelings",
        "## Anxiety\n\nMany people feel anxious after a cancer diagnosis. Talking with a counselor, a social worker or a support group can help people cope with these feelings. Regular exercise and relaxation methods may also help people feel calmer.\n");
}

pub fn fixture_engine() -> &'static Engine {
    static ENGINE: OnceLock<(tempfile::TempDir, Engine)> = OnceLock::new();
    &ENGINE
        .get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let corpus = tmp.path().join("corpus");
            write_fixture(&corpus);
            let kb = tmp.path().join("kb");
            sextant_kb::ingest(&corpus, &kb, &Default::default(), &|_| {}).unwrap();
            let engine = Engine::open(&kb).unwrap().with_retriever(Retriever::Bm25);
            (tmp, engine)
        })
        .1
}
