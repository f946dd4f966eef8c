//! Per-intent wording: section headings and the cues that sort sentences into
//! them, query expansion, titles, openers and questions for the care team.
//!
//! Template text here never states a medical fact: facts only ever come from
//! cited passages. Templates acknowledge, organize and point to people.

use crate::analyze::Intent;

/// A section of an answer and the word cues of the sentences it collects.
pub struct SectionSpec {
    pub heading: &'static str,
    /// Lower-case substrings; a sentence with any of them belongs here
    /// (unless it has one of `not`). An empty list collects everything left.
    pub cues: &'static [&'static str],
    pub not: &'static [&'static str],
}

/// Everything intent-specific.
pub struct Profile {
    pub sections: &'static [SectionSpec],
    /// Added to the query with a low weight.
    pub expansion: &'static [&'static str],
    /// Words that make a sentence on-topic for this intent.
    pub topic: &'static [&'static str],
    /// Title; `{c}` is the cancer type (or "cancer").
    pub title: &'static str,
    pub opener: &'static str,
    /// Questions to ask the care team; `{c}` as above, `{d}` the drug.
    pub questions: &'static [&'static str],
}

const OTHER: SectionSpec = SectionSpec {
    heading: "Other things to know",
    cues: &[],
    not: &[],
};

const SURGERY_WORDS: &[&str] = &[
    "surgery",
    "surgical",
    "resect",
    "remove",
    "removed",
    "ectomy",
    "transplant",
    "operation",
];

pub fn profile(intent: Intent) -> &'static Profile {
    match intent {
        Intent::Surgery => &Profile {
            sections: &[
                SectionSpec { heading: "When surgery may be an option", cues: SURGERY_WORDS, not: &["cannot", "can't", "not able to", "unable to", "not candidates", "unresectable", "not possible"] },
                SectionSpec { heading: "When other treatments are used instead", cues: &["cannot", "unable", "not possible", "instead", "unresectable", "chemotherapy", "radiation", "ablation", "embolization", "targeted therapy", "immunotherapy", "palliative"], not: &[] },
                OTHER,
            ],
            expansion: &["surgery", "resection", "removed", "transplant"],
            topic: SURGERY_WORDS,
            title: "Is surgery an option for {c}?",
            opener: "It makes sense to ask whether surgery is possible, so here is what cancer.gov's expert-reviewed pages say about it, with each point linked to its source.",
            questions: &[
                "Is surgery possible for my {c}, and if not, why not?",
                "What is the goal of surgery for me: to cure the cancer, to control it, or to relieve symptoms?",
                "What other treatments for {c} could I have before, after, or instead of surgery?",
                "What are the risks of the operation, and how long will recovery take?",
                "How many of these operations does this surgical team do each year?",
                "Could a clinical trial be an option for me?",
            ],
        },
        Intent::Treatment => &Profile {
            sections: &[
                SectionSpec { heading: "Treatment options", cues: &["treatment", "therapy", "may include", "surgery", "chemotherapy", "radiation", "transplant", "drug", "used to treat"], not: &["depends on", "depend on", "factors", "clinical trial"] },
                SectionSpec { heading: "How treatment is chosen", cues: &["depends", "depend", "factors", "stage", "based on", "affect", "type of", "whether"], not: &[] },
                OTHER,
            ],
            expansion: &["treatment", "options", "therapy"],
            topic: &["treat", "therapy", "surgery", "chemotherapy", "radiation", "drug", "transplant", "may include"],
            title: "Treatment options for {c}",
            opener: "Learning about the options can help you take part in decisions about your care, so here is what cancer.gov's expert-reviewed pages say, with each point linked to its source.",
            questions: &[
                "What treatments do you recommend for my {c}, and why?",
                "What is the goal of each treatment?",
                "What side effects should I expect, and how can they be managed?",
                "How will we know whether the treatment is working?",
                "Is there a clinical trial for {c} that would fit my situation?",
                "How soon do I need to decide, and should I get a second opinion?",
            ],
        },
        Intent::Prognosis => &Profile {
            sections: &[
                SectionSpec { heading: "What affects the outlook", cues: &["prognosis", "chance of recovery", "depends", "factors", "survival", "outlook", "affect"], not: &[] },
                SectionSpec { heading: "Treatment and follow-up", cues: &["treat", "therapy", "follow-up", "recur", "come back"], not: &[] },
                OTHER,
            ],
            expansion: &["prognosis", "chance of recovery", "survival", "factors"],
            topic: &["prognosis", "chance of recovery", "survival", "outlook", "depends", "factors"],
            title: "Outlook (prognosis) for {c}",
            opener: "Wanting to know what lies ahead is natural, so here is what cancer.gov's expert-reviewed pages say about what shapes the outlook, with each point linked to its source; your care team can tell you how it applies to you.",
            questions: &[
                "What do my stage and test results mean for my outlook?",
                "Which factors in my {c} make the outlook better or worse?",
                "What is the goal of my treatment: cure, control, or comfort?",
                "How will we know if the cancer comes back?",
                "Who can I talk to about my worries, for me and my family?",
            ],
        },
        Intent::Stages => &Profile {
            sections: &[
                SectionSpec { heading: "How the stage is described", cues: &["stage", "staging", "grade"], not: &[] },
                SectionSpec { heading: "How the cancer may spread", cues: &["spread", "metasta", "lymph", "blood", "tissue"], not: &[] },
                OTHER,
            ],
            expansion: &["stage", "staging", "spread"],
            topic: &["stage", "staging", "spread", "metasta"],
            title: "Stages of {c}",
            opener: "Staging terms can be confusing, so here is what cancer.gov's expert-reviewed pages say about them, with each point linked to its source.",
            questions: &[
                "What stage is my {c}, and what does that mean?",
                "Which tests were used to find the stage, and are more needed?",
                "Has the cancer spread to lymph nodes or other organs?",
                "How does the stage of my {c} affect my treatment options?",
                "Will the stage be checked again during or after treatment?",
            ],
        },
        Intent::Symptoms => &Profile {
            sections: &[
                SectionSpec { heading: "Possible signs and symptoms", cues: &["sign", "symptom", "may cause", "pain", "lump", "bleeding", "swelling"], not: &["check with your doctor", "talk with your doctor"] },
                SectionSpec { heading: "When to check with a doctor", cues: &["doctor", "check with", "other conditions", "may be caused by"], not: &[] },
                OTHER,
            ],
            expansion: &["signs", "symptoms"],
            topic: &["sign", "symptom", "may cause", "caused by"],
            title: "Signs and symptoms of {c}",
            opener: "Noticing changes in your body can be worrying, so here is what cancer.gov's expert-reviewed pages say about signs and symptoms, with each point linked to its source; please check with a doctor about anything that concerns you.",
            questions: &[
                "Could my symptoms be caused by {c} or by something else?",
                "Which tests do I need to find out?",
                "Which symptoms mean I should call you right away?",
                "How soon should I be seen?",
                "What can I do to feel better in the meantime?",
            ],
        },
        Intent::Diagnosis => &Profile {
            sections: &[
                SectionSpec { heading: "Tests that may be used", cues: &["test", "exam", "biopsy", "scan", "imaging", "x-ray", "blood", "ultrasound", "mri", "ct "], not: &[] },
                SectionSpec { heading: "What happens after the tests", cues: &["result", "diagnos", "stage", "pathologist", "second opinion"], not: &[] },
                OTHER,
            ],
            expansion: &["tests", "diagnose", "exam", "biopsy"],
            topic: &["test", "exam", "biopsy", "diagnos", "scan", "imaging"],
            title: "How {c} is diagnosed",
            opener: "Waiting for tests and results can be stressful, so here is what cancer.gov's expert-reviewed pages say about how the diagnosis is made, with each point linked to its source.",
            questions: &[
                "Which tests for {c} will I need, and what will each one show?",
                "How do I prepare for the tests, and are there risks?",
                "When and how will I get the results?",
                "Will I need a biopsy, and who will read it?",
                "Should I get a second opinion on the diagnosis?",
            ],
        },
        Intent::SideEffects => &Profile {
            sections: &[
                SectionSpec { heading: "Possible side effects", cues: &["side effect", "may cause", "can cause", "common", "risk"], not: &["manage", "relieve", "prevent"] },
                SectionSpec { heading: "Managing side effects", cues: &["manage", "relieve", "prevent", "treat", "talk with", "tell your", "help"], not: &[] },
                OTHER,
            ],
            expansion: &["side effects"],
            topic: &["side effect", "cause", "symptom"],
            title: "Side effects of {c}",
            opener: "Side effects are a real worry for many people, so here is what cancer.gov's expert-reviewed pages say about them, with each point linked to its source.",
            questions: &[
                "Which side effects are most likely with my {c} treatment, and when do they start?",
                "What can I do to prevent or ease them?",
                "Which side effects mean I should call you right away, day or night?",
                "Are there long-term or late effects I should know about?",
                "Who do I call with questions between visits?",
            ],
        },
        Intent::Screening => &Profile {
            sections: &[
                SectionSpec { heading: "How screening is done", cues: &["screening", "test", "exam", "mammogra", "colonoscopy", "pap"], not: &["harm", "risk"] },
                SectionSpec { heading: "Benefits and harms", cues: &["harm", "risk", "benefit", "false", "overdiagnosis"], not: &[] },
                OTHER,
            ],
            expansion: &["screening", "tests"],
            topic: &["screening", "screen", "test", "early"],
            title: "Screening for {c}",
            opener: "Screening is worth asking about, so here is what cancer.gov's expert-reviewed pages say, with each point linked to its source.",
            questions: &[
                "Should I be screened for {c}, and starting when?",
                "Which {c} screening test is right for me, and how often?",
                "What are the possible benefits and harms of screening for me?",
                "Does my family history change my screening plan?",
                "What happens if a screening test is abnormal?",
            ],
        },
        Intent::Prevention => &Profile {
            sections: &[
                SectionSpec { heading: "What may lower the risk", cues: &["lower", "decrease", "reduce", "prevent", "protect"], not: &[] },
                SectionSpec { heading: "What may raise the risk", cues: &["increase", "raise", "risk factor", "higher risk"], not: &[] },
                OTHER,
            ],
            expansion: &["prevention", "risk", "lower", "decrease"],
            topic: &["risk", "prevent", "lower", "decrease", "increase"],
            title: "Lowering the risk of {c}",
            opener: "Many people want to know what they can do about their risk, so here is what cancer.gov's expert-reviewed pages say, with each point linked to its source.",
            questions: &[
                "What is my own risk of {c}?",
                "Which changes would lower my risk of {c} the most?",
                "Would screening or genetic counseling help me?",
                "Are there medicines or procedures that lower risk, and what are their downsides?",
                "Does my family history matter?",
            ],
        },
        Intent::Causes => &Profile {
            sections: &[
                SectionSpec { heading: "Risk factors", cues: &["risk", "increase", "factor", "exposure", "smok", "infection", "age"], not: &["gene", "inherit", "family"] },
                SectionSpec { heading: "Family history and genes", cues: &["gene", "inherit", "family", "syndrome", "mutation"], not: &[] },
                OTHER,
            ],
            expansion: &["risk", "factors", "cause"],
            topic: &["risk", "cause", "factor", "increase", "gene", "inherit"],
            title: "Causes and risk factors of {c}",
            opener: "It is natural to wonder why cancer happens, so here is what cancer.gov's expert-reviewed pages say about causes and risk factors, with each point linked to its source.",
            questions: &[
                "Which risk factors for {c} apply to me?",
                "Should I or my family members have genetic counseling or testing?",
                "Is there anything I can change to lower my risk of another cancer?",
                "Should my relatives be screened earlier or more often?",
                "Where can I learn more that fits my situation?",
            ],
        },
        Intent::Drug => &Profile {
            sections: &[
                SectionSpec { heading: "What the drug is used for", cues: &["approved", "used to treat", "used with", "is used", "treat"], not: &["side effect"] },
                SectionSpec { heading: "Side effects and cautions", cues: &["side effect", "risk", "warning", "cause"], not: &[] },
                OTHER,
            ],
            expansion: &["approved", "used to treat"],
            topic: &["approved", "treat", "use"],
            title: "About {d}",
            opener: "It helps to understand the medicines in a treatment plan, so here is what cancer.gov's pages say, with each point linked to its source; questions about your own dose belong with your oncologist or pharmacist.",
            questions: &[
                "Why is {d} part of my treatment plan?",
                "How and when is it given, and for how long?",
                "Which side effects should I watch for, and which need a call right away?",
                "Does it interact with my other medicines or supplements?",
                "Who do I call with questions about my dose?",
            ],
        },
        Intent::Fertility => &Profile {
            sections: &[
                SectionSpec { heading: "How treatment can affect fertility", cues: &["fertil", "infertil", "ovar", "testic", "sperm", "egg", "pregnan", "menopause"], not: &["preserv", "freez", "bank", "before treatment", "before you start"] },
                SectionSpec { heading: "Ways to preserve fertility", cues: &["preserv", "freez", "bank", "embryo", "shield", "before treatment", "before you start", "fertility specialist"], not: &[] },
                OTHER,
            ],
            expansion: &["fertility", "fertility preservation", "sperm banking", "egg freezing"],
            topic: &["fertil", "sperm", "egg", "embryo", "pregnan", "ovar", "testic"],
            title: "Fertility and {c}",
            opener: "Wanting to keep the chance of having children is important, and it is best raised early, so here is what cancer.gov's pages say, with each point linked to its source.",
            questions: &[
                "Could my treatment for {c} affect my fertility, and how likely is that?",
                "Can I see a fertility specialist before treatment starts, and how soon?",
                "Which ways of preserving fertility would fit my situation and timeline?",
                "Would preserving fertility delay my treatment?",
                "How long should I wait after treatment before trying to have a child?",
            ],
        },
        Intent::EndOfLife => &Profile {
            sections: &[
                SectionSpec { heading: "What palliative and hospice care do", cues: &["palliative", "hospice", "comfort", "quality of life", "symptom"], not: &[] },
                SectionSpec { heading: "What to expect and how to prepare", cues: &["expect", "prepare", "last", "final", "family", "caregiver", "advance directive", "plan", "wishes"], not: &[] },
                OTHER,
            ],
            expansion: &["palliative care", "hospice", "end of life", "comfort care"],
            topic: &["palliative", "hospice", "comfort", "end of life", "dying", "quality of life"],
            title: "Comfort, palliative and hospice care for {c}",
            opener: "These are hard questions to ask, and it helps to know what care is there for comfort, so here is what cancer.gov's pages say, with each point linked to its source.",
            questions: &[
                "Can we meet the palliative care team now, alongside other treatment?",
                "What would hospice care at home or elsewhere look like for us?",
                "Which symptoms of {c} should we expect, and how will they be eased?",
                "Who do we call day or night if something changes?",
                "What support is there for the family, during and after?",
            ],
        },
        Intent::Nutrition => &Profile {
            sections: &[
                SectionSpec { heading: "Eating well during and after treatment", cues: &["eat", "food", "meal", "diet", "drink", "protein", "calorie", "nutrition", "weight"], not: &["supplement", "vitamin", "herb"] },
                SectionSpec { heading: "Supplements, alcohol and special diets", cues: &["supplement", "vitamin", "herb", "alcohol", "antioxidant", "diet"], not: &[] },
                OTHER,
            ],
            expansion: &["nutrition", "eating", "diet", "food"],
            topic: &["eat", "food", "meal", "diet", "nutrition", "appetite", "weight", "drink", "supplement", "vitamin"],
            title: "Eating and nutrition with {c}",
            opener: "Food is a real part of getting through treatment, so here is what cancer.gov's pages say about eating, with each point linked to its source.",
            questions: &[
                "Is there anything I should not eat or drink during my {c} treatment?",
                "Can I see a dietitian who works with people with cancer?",
                "Are any vitamins or supplements I take a problem with my treatment?",
                "What can I do if I lose weight or have no appetite?",
                "Who should I call if I cannot eat or drink enough?",
            ],
        },
        Intent::Coping => &Profile {
            sections: &[
                SectionSpec { heading: "Ways to cope", cues: &["cope", "coping", "help", "feel", "exercise", "relax", "sleep"], not: &[] },
                SectionSpec { heading: "Getting support", cues: &["support", "talk", "counsel", "family", "friends", "group", "social worker"], not: &[] },
                OTHER,
            ],
            expansion: &["coping", "support", "feelings"],
            topic: &["cope", "coping", "feel", "support", "emotion", "anxiety", "depression", "stress"],
            title: "Coping with {c}",
            opener: "What you are feeling matters, and you do not have to handle it alone; here is what cancer.gov's pages say, with each point linked to its source.",
            questions: &[
                "Who on my care team can help with how I am feeling?",
                "Can you refer me to a counselor, a social worker, or a support group for people with {c}?",
                "What support is there for my family and caregivers?",
                "Could any of my treatments be affecting my mood or sleep?",
                "What should I do if I feel overwhelmed?",
            ],
        },
        Intent::Research => &Profile {
            sections: &[
                SectionSpec { heading: "What is being studied", cues: &["clinical trial", "studied", "being tested", "research", "new"], not: &["search", "find"] },
                SectionSpec { heading: "Taking part in a clinical trial", cues: &["trial", "join", "take part", "find", "search"], not: &[] },
                OTHER,
            ],
            expansion: &["clinical trials", "new types of treatment", "being tested"],
            topic: &["clinical trial", "studied", "being tested", "research", "new"],
            title: "Research and clinical trials for {c}",
            opener: "Many people ask about research and clinical trials, so here is what cancer.gov's pages say, with each point linked to its source.",
            questions: &[
                "Is there a clinical trial for {c} that fits my situation?",
                "What would taking part involve, and what would it cost me?",
                "What are the possible benefits and risks compared with standard treatment?",
                "Can I stop taking part if I change my mind?",
                "Where is the trial done, and how often would I need to go?",
            ],
        },
        Intent::General => &Profile {
            sections: &[
                SectionSpec { heading: "What it is", cues: &[" is a ", " is the ", " are a ", "forms in", "is a type", "is a disease", "called"], not: &[] },
                SectionSpec { heading: "Types and how it develops", cues: &["type", "kind", "spread", "begin", "start", "form"], not: &[] },
                OTHER,
            ],
            expansion: &["disease in which malignant cells form", "type of cancer"],
            topic: &[" is a ", "type", "disease", "cells"],
            title: "About {c}",
            opener: "Thank you for asking; here is what cancer.gov's expert-reviewed pages say, with each point linked to its source.",
            questions: &[
                "What type of {c} do I have, and where did it start?",
                "What tests will I need, and what will they tell us?",
                "What are my treatment options for {c}?",
                "Where can I find reliable information and support?",
                "Who should I call if I have questions between visits?",
            ],
        },
    }
}

/// Every intent, for tests that check each profile.
#[cfg(test)]
pub(crate) const ALL_INTENTS: &[Intent] = &[
    Intent::Fertility,
    Intent::EndOfLife,
    Intent::Nutrition,
    Intent::Surgery,
    Intent::SideEffects,
    Intent::Prognosis,
    Intent::Stages,
    Intent::Screening,
    Intent::Prevention,
    Intent::Causes,
    Intent::Symptoms,
    Intent::Diagnosis,
    Intent::Drug,
    Intent::Coping,
    Intent::Research,
    Intent::Treatment,
    Intent::General,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_well_formed() {
        for &i in ALL_INTENTS {
            let p = profile(i);
            // One short, honest sentence; no numbers, which would be facts.
            assert_eq!(sextant_core::text::sentences(p.opener).len(), 1, "{i:?}");
            assert!(!p.opener.chars().any(|c| c.is_ascii_digit()), "{i:?}");
            assert!((2..=4).contains(&p.sections.len()), "{i:?}");
            assert!(
                p.sections.last().unwrap().cues.is_empty(),
                "{i:?}: the last section collects the rest"
            );
            assert!((4..=6).contains(&p.questions.len()), "{i:?}");
            assert!(p.questions.iter().all(|q| q.ends_with('?')), "{i:?}");
            assert!(
                p.questions
                    .iter()
                    .any(|q| q.contains("{c}") || q.contains("{d}")),
                "{i:?}: questions name the cancer or the drug"
            );
        }
    }
}
