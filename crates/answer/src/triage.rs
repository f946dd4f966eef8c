//! Safety routing before retrieval: emergencies the person reports, requests
//! for an individual dose, questions about neither cancer nor health, and
//! questions too short or garbled to answer. Deterministic rules over the
//! person's own words; no model, no knowledge base.
//!
//! A symptom word alone is not an emergency: "why does chemo raise infection
//! risk?" asks *about* fever. An occurrence counts only when it is *live*:
//! not negated ("no fever"), not resolved ("the bleeding stopped"), not in
//! the distant past ("two years ago"), not hypothetical or feared ("what if I
//! get a fever", "I'm scared of bleeding"), and reported by someone ("I",
//! "my mom", "he") or stated outright ("coughing up blood since last night").
//! Self-harm is the exception: any mention that is not negated routes, since
//! a question framed as general is often personal.
//!
//! Phrases are written as tokens of the normalized text (lower case,
//! contractions expanded: "can't" → "can not"): `word*` matches any word
//! starting with `word`, `*` any one word, `#` a number, and `~` zero to
//! five words.

use sextant_core::cancer::{detect, Matching};
use sextant_core::text::{edit_distance, is_stopword};

/// Who the instructions send the person to first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// Emergency services now.
    EmergencyServices,
    /// The cancer care team's 24-hour line now, else the emergency department.
    CareTeamNow,
    /// A crisis line, and emergency services if in danger now.
    Crisis,
}

/// A situation that needs care now.
#[derive(Debug)]
pub struct Situation {
    /// Stable id, as in `urgent.category`.
    pub id: &'static str,
    /// Plain name: "a fever or chills during cancer treatment".
    pub name: &'static str,
    /// Why it is urgent, in one plain sentence.
    pub why: &'static str,
    pub escalation: Escalation,
    /// Words that find what the knowledge base says about it.
    pub query: &'static str,
    /// Lower-case words, one of which a cited sentence about it contains.
    pub cite_cues: &'static [&'static str],
    /// Ways to recognize it: any one suffices.
    triggers: &'static [Trigger],
}

/// Every group must have a live occurrence; with `near`, within that many
/// tokens of each other in one clause. `context` phrases need only appear
/// somewhere in the message ("chemo" for a fever).
#[derive(Debug)]
struct Trigger {
    groups: &'static [&'static [&'static str]],
    near: Option<usize>,
    context: &'static [&'static str],
}

const TREATMENT_CONTEXT: &[&str] = &[
    "induction",
    "consolidation",
    "maintenance",
    "vincristine",
    "@temp",
    "chemo*",
    "infusion*",
    "treatment*",
    "neutropen*",
    "white count*",
    "white blood*",
    "wbc",
    "immunotherap*",
    "transplant*",
    "cycle*",
    "leukemia",
    "lymphoma",
    "myeloma",
    "cancer*",
    "tumor*",
    "oncolog*",
    "radiation",
    "port",
    "picc",
    "round",
    "rounds",
    "session*",
    "keytruda",
    "folfox",
    "folfiri",
    "taxol",
    "carboplatin",
    "cisplatin",
    "counts",
    "platelets",
    "@drug",
];

const FEVER: &[&str] = &[
    "hot to the touch",
    "feels hot",
    "feel hot",
    "feeling hot",
    "chattering",
    "shiver*",
    "cold sweats",
    "hot and cold",
    "burning hot",
    "sweats",
    "fever*",
    "feverish",
    "temperature",
    "temp",
    "temps",
    "chills",
    "shaking chills",
    "the shakes",
    "rigors",
    "burning up",
    "running hot",
    "febrile",
    "@temp",
];

const BREATHING: &[&str] = &[
    "not breathing",
    "stopped breathing",
    "stop breathing",
    "no pulse",
    "heart stopped",
    "cardiac arrest",
    "winded ~ rest*",
    "winded just",
    "winded ~ at rest",
    "winded ~ lying",
    "winded ~ sitting",
    "breathing through a *",
    "through a straw",
    "sucking air",
    "sucking for air",
    "shoulders to breath*",
    "can not lie flat",
    "can not lay flat",
    "wheez*",
    "panting",
    "air hunger",
    "hard to get air",
    "can not get air",
    "get air in",
    "not getting enough air",
    "not getting air",
    "not enough air",
    "struggling for air",
    "fighting for air",
    "gasping for breath*",
    "blue lips",
    "@lowsat",
    "can not breath*",
    "can not get * breath*",
    "can not get ~ air",
    "can not catch ~ breath*",
    "could not breath*",
    "unable to breath*",
    "trouble breath*",
    "difficulty breath*",
    "difficult to breath*",
    "hard to breath*",
    "hard time breath*",
    "struggling to breath*",
    "struggling for breath*",
    "struggl* ~ breath*",
    "short of breath*",
    "shortness of breath*",
    "out of breath*",
    "breathless*",
    "gasping",
    "gasp* for air",
    "breathing ~ hard*",
    "breathing ~ fast",
    "breathing ~ difficult",
    "breathing ~ labored",
    "labored breath*",
    "lips ~ blue",
    "turning blue",
    "suffocat*",
    "choking",
    "can not breath* properly",
];

const CHEST_PAIN: &[&str] = &[
    "elephant",
    "sweating buckets",
    "clutch* ~ chest",
    "heart ~ squeez*",
    "gray and sweaty",
    "grey and sweaty",
    "pressure in the middle of ~ chest",
    "middle of ~ chest ~ pressure",
    "middle of ~ chest ~ pain*",
    "squeez* ~ chest",
    "chest ~ squeez*",
    "elephant on ~ chest",
    "pain* ~ left arm",
    "left arm ~ pain*",
    "chest ~ heavy",
    "heavy ~ chest",
    "chest pain*",
    "chest ~ hurt*",
    "pain* ~ chest",
    "chest ~ tight*",
    "tight* ~ chest",
    "chest ~ pressure",
    "pressure ~ chest",
    "crushing ~ chest",
    "chest ~ crushing",
    "heart attack",
    "chest ~ aches",
    "chest ~ aching",
    "ache* ~ chest",
    "stabbing ~ chest",
];

const COUGH_BLOOD: &[&str] = &[
    "hack* ~ blood*",
    "hack* ~ red",
    "bring* up ~ blood*",
    "brought up ~ blood*",
    "cough* ~ red stuff",
    "spit* ~ red",
    "blood* ~ tissue*",
    "cough* ~ blood*",
    "blood* ~ cough*",
    "spit* ~ blood*",
    "hemoptysis",
    "haemoptysis",
    "blood* ~ phlegm",
    "blood* ~ sputum",
    "blood* ~ mucus",
    "phlegm ~ blood*",
    "mucus ~ blood*",
    "sputum ~ blood*",
];

/// The chest, and how it hurts, near each other in one clause.
const CHEST_FEELINGS: &[&str] = &[
    "pain*", "hurt*", "crush*", "pressure", "tight*", "squeez*", "heavy", "elephant", "ache*",
    "aching", "stabbing", "sharp", "burning",
];

/// Coughing, and blood, anywhere near each other in one clause.
const COUGH_WORDS: &[&str] = &["cough*", "hack*", "phlegm", "sputum", "mucus"];
const BLOOD_WORDS: &[&str] = &["blood*", "bloody", "red", "pink"];

const BACK_PAIN: &[&str] = &[
    "back ~ screaming",
    "back ~ ache*",
    "lower back",
    "spine ~ ache*",
    "back ~ killing",
    "back ~ agony",
    "back ~ excruciating",
    "back pain*",
    "back ~ hurt*",
    "back ~ aches",
    "back ~ aching",
    "pain* ~ back",
    "backache",
    "spine ~ pain*",
    "spine ~ hurt*",
    "pain* ~ spine",
    "back ~ killing",
];

const LEGS_WEAK: &[&str] = &[
    "butt ~ numb*",
    "numb* ~ butt",
    "thighs ~ numb*",
    "inner thighs",
    "can not lift ~ leg*",
    "leg* ~ hold",
    "leg* ~ buckl*",
    "leg* ~ collaps*",
    "leg* ~ dead",
    "leg* ~ not work*",
    "leg* ~ stopped working",
    "leg* ~ will not move",
    "can not get up",
    "can not stand up",
    "leg* ~ weak*",
    "weak* ~ leg*",
    "leg* ~ numb*",
    "numb* ~ leg*",
    "leg* ~ tingl*",
    "tingl* ~ leg*",
    "feet ~ numb*",
    "numb* ~ feet",
    "leg* ~ give out",
    "leg* ~ gave out",
    "leg* ~ gave way",
    "leg* ~ giving out",
    "leg* ~ giving way",
    "leg* ~ like jelly",
    "leg* ~ heavy",
    "can not feel ~ leg*",
    "can not feel ~ feet",
    "can not move ~ leg*",
    "can not walk*",
    "unable to walk",
    "trouble walking",
    "hard to walk",
    "can not stand",
    "can barely walk",
];

const CONTINENCE: &[&str] = &[
    "numb between ~ legs",
    "accident in ~ pants",
    "accident ~ pants",
    "lost control",
    "numb bum",
    "bum ~ numb*",
    "numb* ~ bum",
    "can not pee",
    "can not poop",
    "can not ~ pee",
    "can not ~ poop",
    "unable to pee",
    "unable to urinate",
    "can not urinate",
    "can not hold ~ wee",
    "wet ~ pants",
    "pee* ~ pants",
    "poop* ~ pants",
    "lost control ~ bladder",
    "lost control ~ bowel*",
    "lose control ~ bladder",
    "losing control ~ bladder",
    "losing control ~ bowel*",
    "no control ~ bladder",
    "no control ~ bowel*",
    "can not control ~ bladder",
    "can not control ~ bowel*",
    "can not hold ~ pee",
    "can not hold ~ urine",
    "wet myself",
    "wet himself",
    "wet herself",
    "peed myself",
    "peed himself",
    "peed herself",
    "pooped myself",
    "pooped himself",
    "pooped herself",
    "soiled",
    "incontinen*",
    "numb* ~ groin",
    "numb* ~ buttock*",
    "numb* ~ bottom",
    "numb* ~ private*",
    "saddle",
];

const BLEEDING: &[&str] = &[
    "still pouring",
    "drain ~ blood",
    "soak* ~ dressing",
    "filling up with blood",
    "bleed* ~ still",
    "pouring blood",
    "blood ~ pouring",
    "gushing ~ blood",
    "blood ~ gushing",
    "passed ~ clot",
    "bowl ~ red",
    "bright red",
    "soak* ~ towel*",
    "soak* ~ pad*",
    "soaked through",
    "full of blood",
    "blood ~ toilet",
    "toilet ~ blood",
    "bright red blood",
    "dark red",
    "puk* ~ red",
    "vomit* ~ red",
    "throw* up ~ red",
    "threw up ~ red",
    "tar",
    "pooping tar",
    "blood clots",
    "nosebleed ~ minutes",
    "nosebleed ~ hour*",
    "nosebleed going",
    "bleeding through",
    "bleed* ~ not stop*",
    "bleed* ~ not stopped",
    "bleed* ~ will not stop",
    "bleed* ~ can not stop",
    "bleed* ~ keeps",
    "bleed* ~ heavily",
    "bleed* ~ a lot",
    "bleed* ~ everywhere",
    "bleed* ~ through",
    "bleed* ~ soak*",
    "bleed* ~ pouring",
    "bleed* ~ gushing",
    "bleed* ~ nonstop",
    "bleed* ~ hour*",
    "bleed* ~ minutes",
    "bleed* ~ since",
    "bleed* ~ non stop",
    "heavy bleed*",
    "heavily bleed*",
    "nosebleed* ~ not stop*",
    "nose ~ bleeding ~ not stop*",
    "will not stop bleed*",
    "can not stop ~ bleed*",
    "not stop* ~ bleed*",
    "hemorrhag*",
    "haemorrhag*",
    "vomit* ~ blood*",
    "throw* up ~ blood*",
    "threw up ~ blood*",
    "puk* ~ blood*",
    "blood* ~ vomit*",
    "black ~ stool*",
    "black ~ poop*",
    "black ~ poo",
    "black ~ bowel movement*",
    "tarry",
    "tar like",
    "pooping black",
    "poop* ~ black",
    "stool* ~ black",
    "blood* ~ stool*",
    "blood* ~ poop*",
    "pooping blood",
    "lots of blood",
    "lot of blood",
    "so much blood",
    "blood ~ everywhere",
    "peeing blood",
    "pee* ~ blood*",
    "blood* ~ urine",
    "blood* ~ pee",
    "urine ~ red",
    "bloody ~ diarrhea",
    "coffee grounds",
];

const CONFUSION: &[&str] = &[
    "not recogni*",
    "mumbling",
    "nonsense",
    "super sleepy",
    "very sleepy",
    "really drowsy",
    "so drowsy",
    "hard to rouse",
    "went straight back out",
    "lost in ~ own house",
    "off with the fairies",
    "loopy",
    "not with it",
    "not all there",
    "spaced out",
    "zoned out",
    "nodding off",
    "can not stay awake",
    "will not respond",
    "does not respond",
    "talking to people who are not there",
    "talking to people ~ not there",
    "seeing people",
    "does not know what year",
    "does not know me",
    "did not know me",
    "acting strange*",
    "acting weird",
    "acting funny",
    "not acting like",
    "forgot who",
    "confused",
    "confusion",
    "disoriented",
    "disorientation",
    "delirious",
    "delirium",
    "out of it",
    "not making sense",
    "not making ~ sense",
    "not make ~ sense",
    "no sense",
    "keeps falling asleep",
    "keep* passing out",
    "making no sense",
    "not make sense",
    "talking nonsense",
    "talking gibberish",
    "gibberish",
    "does not know where",
    "did not know where",
    "does not recognize",
    "did not recognize",
    "does not know who",
    "not know what day",
    "hard to wake",
    "can not wake",
    "will not wake",
    "barely wake",
    "unresponsive",
    "not responding",
    "hallucinat*",
    "seeing things",
    "very drowsy",
    "extremely drowsy",
    "not himself",
    "not herself",
];

const THIRST: &[&str] = &[
    "drinking tons",
    "tons of water",
    "gallons of water",
    "so thirsty",
    "always thirsty",
    "very thirsty",
    "drinking ~ water ~ constantly",
    "thirst*",
    "drinking ~ water ~ all",
    "can not stop drinking",
];

const DEHYDRATION: &[&str] = &[
    "diarrhea ~ every",
    "diarrhea ~ day",
    "diarrhea ~ hour",
    "not had a wee",
    "not had a pee",
    "keep* being sick",
    "straight back up",
    "come* ~ back up",
    "runs ~ all day",
    "runs ~ all night",
    "barely pee*",
    "barely urinat*",
    "mouth ~ dry as",
    "toilet nonstop",
    "watery ~ since",
    "sick* up ~ everything",
    "everything ~ comes back up",
    "even ice chips",
    "not kept anything down",
    "not kept ~ down",
    "keep anything down",
    "keep anything in",
    "every sip",
    "not even water",
    "can not drink",
    "sip ~ down",
    "nothing ~ stays down",
    "can not keep ~ down",
    "could not keep ~ down",
    "unable to keep ~ down",
    "not keep* ~ down",
    "not keeping ~ down",
    "nothing stays down",
    "nothing will stay down",
    "not stay* down",
    "vomit* ~ all day",
    "vomit* ~ all night",
    "vomit* ~ since",
    "vomit* ~ nonstop",
    "vomit* ~ non stop",
    "vomit* ~ every hour",
    "vomit* ~ hours",
    "vomit* ~ times",
    "vomit* ~ constantly",
    "vomit* ~ day",
    "vomit* ~ days",
    "throw* up ~ all day",
    "throw* up ~ all night",
    "throw* up ~ since",
    "throw* up ~ nonstop",
    "throw* up ~ every",
    "throw* up ~ hours",
    "throw* up ~ times",
    "throw* up ~ day",
    "throw* up ~ days",
    "throw* up ~ constantly",
    "threw up ~ times",
    "can not stop vomit*",
    "keep* throw* up",
    "keep* vomit*",
    "keep* puk*",
    "not had anything to drink",
    "not drunk anything",
    "not had ~ drink",
    "nothing to drink",
    "not kept ~ down",
    "can not stop throw* up",
    "not stop* vomit*",
    "not stop* throw* up",
    "puk* ~ all day",
    "not peed",
    "not urinated",
    "no urine",
    "not pee*",
    "no pee",
    "diarrhea ~ times",
    "diarrhea ~ all day",
    "diarrhea ~ nonstop",
    "diarrhea ~ since",
    "severely dehydrated",
    "very dehydrated",
    "dehydrated",
];

const FAINTING: &[&str] = &[
    "keel*",
    "woke up on ~ floor",
    "found ~ on the floor",
    "everything went black",
    "went black",
    "faint*",
    "passed out",
    "pass out",
    "passing out",
    "blacked out",
    "black out",
    "blacking out",
    "collapsed",
    "collapse",
    "lost consciousness",
    "unconscious",
    "keeled over",
];

const STROKE: &[&str] = &[
    "speech ~ jumbled",
    "arm ~ floppy",
    "floppy",
    "face ~ fallen",
    "face ~ dropped",
    "face ~ numb*",
    "numb* ~ face",
    "side of ~ face",
    "crooked smile",
    "smile ~ crooked",
    "can not grip",
    "hand ~ not grip",
    "face ~ droop*",
    "droop* ~ face",
    "droop*",
    "slurr*",
    "slurred",
    "can not speak",
    "can not talk",
    "can not get ~ words out",
    "words ~ jumbled",
    "one side ~ weak*",
    "left side ~ weak*",
    "right side ~ weak*",
    "left side ~ numb*",
    "right side ~ numb*",
    "left arm ~ weak*",
    "right arm ~ weak*",
    "left arm ~ numb*",
    "right arm ~ numb*",
    "talking funny",
    "speech ~ funny",
    "speech ~ garbled",
    "side of ~ face ~ droop*",
    "one side ~ numb*",
    "weak* ~ one side",
    "numb* ~ one side",
    "can not lift ~ arm",
    "can not move ~ arm",
    "arm ~ went numb",
    "sudden ~ vision",
    "lost ~ vision",
    "can not see",
    "worst headache",
    "stroke",
];

const SWELLING_FACE_NECK: &[&str] = &[
    "swell* ~ face",
    "swell* ~ neck",
    "face ~ swell*",
    "face ~ swollen",
    "neck ~ swell*",
    "neck ~ swollen",
    "swollen ~ face",
    "swollen ~ neck",
    "puffy ~ face",
    "face ~ puffy",
];

const INFUSION: &[&str] = &[
    "infusion*",
    "drip",
    "iv",
    "during * chemo*",
    "during chemo*",
    "during * treatment",
    "during treatment",
    "getting ~ chemo*",
    "getting * infusion",
    "getting ~ immunotherap*",
    "getting ~ rituxan",
    "while ~ chemo",
    "hooked up",
    "transfusion",
    "in the chair",
    "just started",
    "just got",
    "halfway",
    "@drug",
];

const REACTION: &[&str] = &[
    "hives",
    "throat ~ tight*",
    "throat ~ clos*",
    "throat ~ swell*",
    "throat ~ swollen",
    "tongue ~ swell*",
    "tongue ~ swollen",
    "lips ~ swell*",
    "lips ~ swollen",
    "allergic reaction",
    "reaction",
    "anaphyla*",
    "rash ~ all over",
    "itch* ~ all over",
    "wheez*",
    "can not breath*",
    "hard to breath*",
    "trouble breath*",
    "short of breath*",
    "chest ~ tight*",
    "tight* ~ chest",
];

const SELF_HARM: &[&str] = &[
    "what is the point",
    "whats the point",
    "planning how to",
    "how to do it",
    "saved up ~ pill*",
    "saved up ~ morphine",
    "saved up ~ med*",
    "saved up ~ oxy*",
    "saved up my",
    "tonight is the night",
    "want* to disappear",
    "giving away ~ things",
    "giving away ~ belongings",
    "all my ~ at once",
    "be done with it",
    "done with it all",
    "picked a date",
    "goodbye letters",
    "make it painless",
    "want out",
    "done fighting",
    "can not do this anymore",
    "rope",
    "in front of a bus",
    "in front of a train",
    "in front of a car",
    "end my suffering",
    "driv* ~ into ~ wall",
    "driv* ~ into ~ tree",
    "driv* ~ on purpose",
    "crash* ~ on purpose",
    "hurt* ~ on purpose",
    "overdos* ~ on purpose",
    "off the bridge",
    "off a bridge",
    "jump off",
    "shoot myself",
    "shoot himself",
    "shoot herself",
    "hang myself",
    "hang himself",
    "hang herself",
    "stockpil* ~ pills",
    "saving up ~ pills",
    "end things",
    "ending things",
    "not be around",
    "want to disappear",
    "go to sleep and not wake up",
    "everyone would be better off",
    "better off if i was gone",
    "better off if i were gone",
    "kill myself",
    "killing myself",
    "kill himself",
    "kill herself",
    "end my life",
    "end his life",
    "end her life",
    "ending my life",
    "take my own life",
    "take my life",
    "suicid*",
    "want to die",
    "wanna die",
    "wants to die",
    "wish i was dead",
    "wish i were dead",
    "wish i could die",
    "better off dead",
    "better off without me",
    "hurt myself",
    "hurting myself",
    "harm myself",
    "harming myself",
    "self harm",
    "cut myself",
    "cutting myself",
    "no point ~ living",
    "no point ~ going on",
    "no point ~ alive",
    "no reason to live",
    "not want to live",
    "not want to be alive",
    "not want to be here",
    "not want to wake up",
    "not wake up",
    "end it all",
    "ending it all",
    "end it",
    "not worth living",
    "tak* all ~ pills",
    "swallow* all ~ pills",
    "all ~ pills at once",
    "overdose on purpose",
    "not want to go on",
    "can not go on",
    "give up on life",
    "life is not worth",
];

/// Every situation, most specific first: SVC and infusion reactions before
/// plain breathing trouble, hypercalcemia before plain confusion.
pub static SITUATIONS: &[Situation] = &[
    Situation {
        id: "self_harm",
        name: "thoughts of suicide or of hurting yourself",
        why: "These thoughts can come with the strain of cancer, they can be treated, and talking with someone trained to help right now makes you safer.",
        escalation: Escalation::Crisis,
        query: "depression suicide thoughts of hurting yourself cancer help",
        cite_cues: &["suicid", "depress", "help", "counsel"],
        triggers: &[Trigger { groups: &[SELF_HARM], near: None, context: &[] }],
    },
    Situation {
        id: "superior_vena_cava",
        name: "swelling of the face or neck with trouble breathing (possible superior vena cava syndrome)",
        why: "A tumor pressing on the large vein from the head and arms to the heart can block blood flow and the airway, and needs treatment right away.",
        escalation: Escalation::EmergencyServices,
        query: "superior vena cava syndrome swelling face neck trouble breathing",
        cite_cues: &["vena cava", "swelling", "breath"],
        triggers: &[Trigger { groups: &[SWELLING_FACE_NECK, BREATHING], near: None, context: &[] }],
    },
    Situation {
        id: "infusion_reaction",
        name: "a reaction during an infusion",
        why: "A reaction during an infusion can get worse within minutes, and the staff can stop the drug and treat it at once.",
        escalation: Escalation::EmergencyServices,
        query: "infusion reaction allergic reaction during chemotherapy hives trouble breathing",
        cite_cues: &["reaction", "allerg", "infusion"],
        triggers: &[Trigger { groups: &[INFUSION, REACTION], near: Some(12), context: &[] }],
    },
    Situation {
        id: "trouble_breathing",
        name: "trouble breathing",
        why: "Trouble breathing can come from a blood clot, an infection, fluid around the lungs or the heart, or a reaction to treatment, and some of these are life-threatening.",
        escalation: Escalation::EmergencyServices,
        query: "shortness of breath trouble breathing cancer when to call doctor",
        cite_cues: &["breath"],
        triggers: &[Trigger { groups: &[BREATHING], near: None, context: &[] }],
    },
    Situation {
        id: "chest_pain",
        name: "chest pain",
        why: "Chest pain can be a sign of a heart problem or a blood clot in the lungs, which need care right away.",
        escalation: Escalation::EmergencyServices,
        query: "chest pain blood clot heart problem cancer treatment",
        cite_cues: &["chest", "clot"],
        triggers: &[
            Trigger { groups: &[CHEST_PAIN], near: None, context: &[] },
            Trigger { groups: &[&["chest"], CHEST_FEELINGS], near: Some(7), context: &[] },
        ],
    },
    Situation {
        id: "coughing_blood",
        name: "coughing up blood",
        why: "Coughing up blood can mean bleeding in the airways or lungs, which can become serious quickly.",
        escalation: Escalation::EmergencyServices,
        query: "coughing up blood lung cancer bleeding",
        cite_cues: &["cough", "blood"],
        triggers: &[
            Trigger { groups: &[COUGH_BLOOD], near: None, context: &[] },
            Trigger { groups: &[COUGH_WORDS, BLOOD_WORDS], near: Some(10), context: &[] },
        ],
    },
    Situation {
        id: "spinal_cord_compression",
        name: "back pain with leg weakness or numbness, or loss of bladder or bowel control (possible spinal cord compression)",
        why: "Cancer pressing on the spinal cord can cause lasting paralysis within hours to days, and treating it early can prevent that.",
        escalation: Escalation::EmergencyServices,
        query: "spinal cord compression back pain weakness numbness legs bladder bowel control",
        cite_cues: &["spinal cord", "numb", "weak", "bladder"],
        triggers: &[
            Trigger { groups: &[BACK_PAIN, LEGS_WEAK], near: None, context: &[] },
            Trigger { groups: &[CONTINENCE], near: None, context: &[] },
            Trigger { groups: &[LEGS_WEAK], near: None, context: &["cancer*", "tumor*", "spine", "spinal", "metasta*", "myeloma", "chemo*", "radiation"] },
        ],
    },
    Situation {
        id: "bleeding",
        name: "bleeding that will not stop, vomiting blood, or black stools",
        why: "Heavy or hidden bleeding can lower your blood pressure and blood count quickly, especially when cancer treatment has lowered your platelets.",
        escalation: Escalation::EmergencyServices,
        query: "bleeding low platelet count thrombocytopenia when to call",
        cite_cues: &["bleed", "blood", "platelet", "stool"],
        triggers: &[Trigger { groups: &[BLEEDING], near: None, context: &[] }],
    },
    Situation {
        id: "hypercalcemia",
        name: "extreme thirst with confusion (possible high calcium, hypercalcemia)",
        why: "A high calcium level from cancer can cause confusion, kidney damage and heart rhythm problems, and is treated in hospital.",
        escalation: Escalation::EmergencyServices,
        query: "hypercalcemia high calcium thirst confusion cancer",
        cite_cues: &["calcium", "thirst", "confus"],
        triggers: &[Trigger { groups: &[THIRST, CONFUSION], near: None, context: &[] }],
    },
    Situation {
        id: "confusion",
        name: "sudden confusion or being hard to wake",
        why: "Sudden confusion can come from an infection, high calcium, a problem in the brain, or a medicine, and needs to be checked right away.",
        escalation: Escalation::EmergencyServices,
        query: "sudden confusion delirium cancer when to call doctor",
        cite_cues: &["confus", "delirium"],
        triggers: &[Trigger { groups: &[CONFUSION], near: None, context: &[] }],
    },
    Situation {
        id: "stroke",
        name: "signs of a stroke",
        why: "With a stroke, every minute counts: treatment given early can limit damage to the brain.",
        escalation: Escalation::EmergencyServices,
        query: "stroke signs sudden weakness speech cancer",
        cite_cues: &["stroke"],
        triggers: &[Trigger { groups: &[STROKE], near: None, context: &[] }],
    },
    Situation {
        id: "fainting",
        name: "fainting or passing out",
        why: "Fainting can come from dehydration, bleeding, an infection or a heart problem, and the cause needs to be found right away.",
        escalation: Escalation::EmergencyServices,
        query: "fainting dizziness low blood pressure dehydration cancer",
        cite_cues: &["faint", "dizz"],
        triggers: &[Trigger { groups: &[FAINTING], near: None, context: &[] }],
    },
    Situation {
        id: "neutropenic_fever",
        name: "a fever or chills during or after cancer treatment (possible neutropenic fever)",
        why: "Chemotherapy can lower the white blood cells that fight infection, so a fever can be the first sign of an infection that becomes dangerous within hours.",
        escalation: Escalation::CareTeamNow,
        query: "fever infection neutropenia low white blood cell count chemotherapy call doctor",
        cite_cues: &["fever", "infection", "temperature"],
        triggers: &[Trigger { groups: &[FEVER], near: None, context: TREATMENT_CONTEXT }],
    },
    Situation {
        id: "dehydration",
        name: "being unable to keep fluids down",
        why: "Vomiting or diarrhea that will not stop can dry out your body and harm your kidneys within a day, and you may need fluids through a vein.",
        escalation: Escalation::CareTeamNow,
        query: "nausea vomiting dehydration cannot keep fluids down chemotherapy call",
        cite_cues: &["vomit", "dehydrat", "fluid", "diarrhea"],
        triggers: &[Trigger { groups: &[DEHYDRATION], near: None, context: &[] }],
    },
];

/// A reported emergency.
#[derive(Debug, Clone)]
pub struct Emergency {
    pub situation: &'static Situation,
    /// The clauses of the message, as written, that report it.
    pub evidence: Vec<String>,
    /// The rest of the message when it also asks something else ("and also,
    /// what is HER2?"), to be answered below the emergency part.
    pub rest: Option<String>,
}

/// One clause of the message: its original text and its normalized tokens.
#[derive(Debug)]
struct Clause {
    orig: String,
    toks: Vec<String>,
    /// A temperature of fever height was written ("101.5", "38.6c").
    hot_number: bool,
    /// A low oxygen reading was written ("oxygen 86", "sats 88%").
    low_sat: bool,
    /// The tokens, for rejecting most phrases with one lookup.
    set: std::collections::HashSet<String>,
}

/// Splits a message into clauses at sentence ends, line breaks, and joins
/// that start another thought ("and also", "also,", "btw").
fn clauses(message: &str) -> Vec<Clause> {
    let mut parts: Vec<String> = vec![String::new()];
    let chars: Vec<char> = message.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let last = parts.last_mut().expect("never empty");
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        // "38.5" keeps its point; "Dr." is rare enough in questions.
        let boundary = matches!(c, '?' | '!' | ';' | '\n')
            || (c == '.' && !(prev.is_ascii_digit() && next.is_ascii_digit()));
        if boundary {
            last.push(c);
            parts.push(String::new());
        } else {
            last.push(c);
        }
    }
    // Joins that start a new question.
    let mut out = Vec::new();
    for p in parts {
        // ASCII lower-casing keeps byte offsets valid in `p`.
        let lower = p.to_ascii_lowercase();
        let mut cut = None;
        for j in [
            " and also ",
            " also, ",
            " also what",
            " also how",
            " also can",
            " also when",
            " also does",
            " also do ",
            " also is ",
            " also where",
            " also should",
            " btw ",
            " by the way ",
            " and what ",
            " and how ",
            " and is ",
            " and can ",
        ] {
            if let Some(at) = lower.find(j) {
                if cut.is_none_or(|c| at < c) {
                    cut = Some(at);
                }
            }
        }
        match cut.filter(|&at| p.is_char_boundary(at)) {
            Some(at) => {
                out.push(p[..at].to_string());
                out.push(p[at..].to_string());
            }
            None => out.push(p),
        }
    }
    out.into_iter()
        .filter(|p| p.chars().any(char::is_alphanumeric))
        .map(|orig| {
            let (toks, hot_number) = normalize(&orig);
            let low_sat = low_oxygen(&toks);
            Clause {
                set: toks.iter().cloned().collect(),
                orig: orig.trim().to_string(),
                toks,
                hot_number,
                low_sat,
            }
        })
        .collect()
}

/// An oxygen saturation under 92 % next to a word for it ("my oxygen is
/// 86", "sats 88", "pulse ox says 85%").
fn low_oxygen(toks: &[String]) -> bool {
    let oxygen = |t: &str| {
        matches!(
            t,
            "oxygen"
                | "o2"
                | "sat"
                | "sats"
                | "saturation"
                | "spo2"
                | "oximeter"
                | "ox"
                | "pulseox"
        )
    };
    toks.iter().enumerate().any(|(i, t)| {
        oxygen(t)
            && toks[i + 1..].iter().take(8).any(|n| {
                n.trim_end_matches('%')
                    .parse::<f32>()
                    .is_ok_and(|v| (50.0..92.0).contains(&v))
            })
    })
}

/// Contractions and run-together forms people type, expanded.
fn expand(tok: &str) -> Option<&'static [&'static str]> {
    Some(match tok {
        "can't" | "cant" | "cannot" | "cnt" | "caint" => &["can", "not"],
        "won't" | "wont" => &["will", "not"],
        "don't" | "dont" | "dnt" => &["do", "not"],
        "doesn't" | "doesnt" | "dosent" | "dosnt" => &["does", "not"],
        "didn't" | "didnt" => &["did", "not"],
        "isn't" | "isnt" => &["is", "not"],
        "aren't" | "arent" => &["are", "not"],
        "wasn't" | "wasnt" => &["was", "not"],
        "weren't" | "werent" => &["were", "not"],
        "haven't" | "havent" => &["have", "not"],
        "hasn't" | "hasnt" => &["has", "not"],
        "hadn't" | "hadnt" => &["had", "not"],
        "couldn't" | "couldnt" => &["could", "not"],
        "shouldn't" | "shouldnt" => &["should", "not"],
        "wouldn't" | "wouldnt" => &["would", "not"],
        "i'm" | "im" => &["i", "am"],
        "i've" | "ive" => &["i", "have"],
        "i'd" | "id" => &["i", "would"],
        "she'd" => &["she", "would"],
        "he'd" => &["he", "would"],
        "they'd" => &["they", "would"],
        "you'd" => &["you", "would"],
        "i'll" => &["i", "will"],
        "he's" => &["he", "is"],
        "she's" => &["she", "is"],
        "it's" | "its" => &["it", "is"],
        "they're" | "theyre" => &["they", "are"],
        "we're" => &["we", "are"],
        "what's" | "whats" => &["what", "is"],
        "that's" | "thats" => &["that", "is"],
        "there's" | "theres" => &["there", "is"],
        "wanna" => &["want", "to"],
        "gonna" => &["going", "to"],
        "dunno" => &["do", "not", "know"],
        "u" => &["you"],
        "rn" => &["right", "now"],
        "tmrw" | "tmr" => &["tomorrow"],
        "ur" => &["your"],
        "r" => &["are"],
        "pls" | "plz" => &["please"],
        "bc" | "cuz" | "coz" => &["because"],
        "hrs" => &["hours"],
        "mom's" | "moms" => &["mom"],
        "dad's" | "dads" => &["dad"],
        "nose-bleed" | "nosebleeds" => &["nosebleed"],
        "self-harm" => &["self", "harm"],
        "non-stop" => &["nonstop"],
        _ => return None,
    })
}

/// Misspellings seen in patient messages, mapped to the word meant.
fn respell(tok: &str) -> Option<&'static str> {
    Some(match tok {
        "feaver" | "fevor" | "fevar" | "feever" | "fver" | "fevre" | "feber" | "fiver"
        | "fevah" | "fevers" => "fever",
        "temprature" | "tempature" | "temperture" | "temperatur" | "tempreture" => "temperature",
        "kemo" | "chemmo" | "cemo" | "chem" | "keemo" => "chemo",
        "thru" => "through",
        "chemotheraphy" | "chemotherepy" | "chemotherpy" | "chemothrapy" | "kemotherapy" => {
            "chemotherapy"
        }
        "breth" | "breathe" | "breathh" | "brethe" => "breath",
        "breating" | "brething" | "breathin" | "breahting" | "breathng" => "breathing",
        "bleading" | "bleedin" | "bleeing" | "bleding" | "bleeeding" => "bleeding",
        "blod" | "bloood" => "blood",
        "vomitting" | "vommiting" | "vomitin" | "vomming" => "vomiting",
        "vommit" | "vomitt" => "vomit",
        "confussed" | "confuzed" | "confusd" | "confued" => "confused",
        "numbe" | "numm" | "numbb" => "numb",
        "sucide" | "suicde" | "suiside" | "suicid" | "sucidal" | "suicidle" => "suicide",
        "infussion" | "infution" | "infushion" => "infusion",
        "diarrhoea" | "diarhea" | "diarrea" | "diahrrea" | "diareah" | "diarreha" => "diarrhea",
        "chst" => "chest",
        "pian" | "pane" => "pain",
        "dizy" | "dizzey" => "dizzy",
        "fainded" | "fanted" | "feinted" => "fainted",
        "weeak" | "weka" => "weak",
        "swolen" | "swolled" | "swollon" => "swollen",
        "coughin" | "coufing" | "caughing" => "coughing",
        "throwin" => "throwing",
        "leggs" => "legs",
        "peeing" | "peein" => "peeing",
        "stoped" => "stopped",
        "stoping" => "stopping",
        "urin" => "urine",
        "bladdar" | "bladdder" => "bladder",
        "thirsy" | "thristy" => "thirsty",
        "dehydrated" | "dehydraded" => "dehydrated",
        "unconcious" | "unconsious" => "unconscious",
        "hallucinateing" => "hallucinating",
        "slured" => "slurred",
        "droopy" => "drooping",
        _ => return None,
    })
}

/// Long words the rules use, for correcting typos by edit distance.
const LONG_WORDS: &[&str] = &[
    "temperature",
    "chemotherapy",
    "breathing",
    "bleeding",
    "vomiting",
    "confused",
    "confusion",
    "infusion",
    "diarrhea",
    "unconscious",
    "numbness",
    "weakness",
    "swelling",
    "shortness",
    "coughing",
    "suicide",
    "suicidal",
    "immunotherapy",
    "radiation",
    "disoriented",
    "hemorrhage",
    "breathless",
    "collapsed",
    "treatment",
];

/// Lower-cases, expands contractions, fixes known misspellings and splits
/// into word tokens. Also says whether a fever-height temperature was
/// written (≥ 100.4 °F or ≥ 38.0 °C).
fn normalize(s: &str) -> (Vec<String>, bool) {
    // A comma stays, as a token of its own: it ends the reach of a
    // negation ("not eating, now vomiting blood").
    let lower = s
        .to_lowercase()
        .replace(['’', '‘', '`'], "'")
        .replace(',', " , ");
    let mut toks = Vec::new();
    let mut hot = false;
    for raw in lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '.' || c == '-' || c == ','))
    {
        if raw == "," {
            toks.push(",".to_string());
            continue;
        }
        let raw = raw.trim_matches(|c: char| c == '\'' || c == '.' || c == '-' || c == ',');
        if raw.is_empty() {
            continue;
        }
        // Numbers: "101.5", "38.6c", "102f", "39°".
        let digits: String = raw
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        if !digits.is_empty() {
            if let Ok(v) = digits.parse::<f32>() {
                if (100.4..=107.0).contains(&v) || (38.0..=42.5).contains(&v) {
                    hot = true;
                }
            }
            toks.push(raw.to_string());
            continue;
        }
        if let Some(parts) = expand(raw) {
            toks.extend(parts.iter().map(|p| p.to_string()));
            continue;
        }
        let stripped = raw.trim_end_matches("'s");
        for piece in stripped.split(['-', '\'']).filter(|p| !p.is_empty()) {
            let w = respell(piece).map(str::to_string).unwrap_or_else(|| {
                let n = piece.chars().count();
                if n >= 7 {
                    let max = if n >= 9 { 2 } else { 1 };
                    // A word's own inflection is not a typo: "confusing"
                    // is not "confusion".
                    let ending = |w: &str| {
                        ["ing", "ed", "ly", "es"]
                            .into_iter()
                            .find(|e| w.ends_with(e))
                    };
                    LONG_WORDS
                        .iter()
                        .filter(|l| ending(piece) == ending(l))
                        .find(|l| edit_distance(piece, l, max) <= max)
                        .map_or_else(|| piece.to_string(), |l| l.to_string())
                } else {
                    piece.to_string()
                }
            });
            toks.push(w);
        }
    }
    (toks, hot)
}

/// Endings of generic drug names: "-mab" antibodies, "-nib" kinase
/// inhibitors, "-platin", "-taxel", "-rubicin", "-citabine", and the like.
const DRUG_SUFFIXES: &[&str] = &[
    "grastim",
    "poetin",
    "parin",
    "mab",
    "nib",
    "platin",
    "taxel",
    "rubicin",
    "citabine",
    "fosfamide",
    "tecan",
    "mustine",
    "trexate",
    "zomib",
    "lisib",
    "ciclib",
    "parib",
    "lutamide",
    "trozole",
    "relin",
    "mycin",
    "cillin",
    "azole",
    "statin",
    "prazole",
    "olol",
    "sartan",
    "dronate",
    "done",
    "codone",
    "morphone",
    "azepam",
    "olam",
    "setron",
    "methasone",
    "nisone",
    "solone",
];

/// Does a token look like a drug name? Generic-name endings, plus brand and
/// common names patients use.
pub fn looks_like_drug(t: &str) -> bool {
    const NAMES: &[&str] = &[
        "taxol",
        "taxotere",
        "xeloda",
        "gemzar",
        "keytruda",
        "opdivo",
        "herceptin",
        "rituxan",
        "avastin",
        "ibrance",
        "tagrisso",
        "lynparza",
        "revlimid",
        "gleevec",
        "imbruvica",
        "zofran",
        "decadron",
        "dex",
        "neulasta",
        "neupogen",
        "folfox",
        "folfiri",
        "folfirinox",
        "chop",
        "r-chop",
        "abvd",
        "tylenol",
        "advil",
        "motrin",
        "aleve",
        "aspirin",
        "benadryl",
        "oxycontin",
        "percocet",
        "vicodin",
        "norco",
        "dilaudid",
        "fentanyl",
        "morphine",
        "tamoxifen",
        "lorazepam",
        "ativan",
        "xanax",
        "compazine",
        "gabapentin",
        "lyrica",
        "melatonin",
        "turmeric",
        "curcumin",
        "cbd",
        "marijuana",
        "cannabis",
        "lenalidomide",
        "thalidomide",
        "pomalidomide",
        "kisqali",
        "verzenio",
        "nexium",
        "prilosec",
        "zometa",
        "xgeva",
        "prolia",
        "lupron",
        "zoladex",
        "arimidex",
        "femara",
        "aromasin",
        "faslodex",
        "xtandi",
        "oramorph",
        "senokot",
        "sennosides",
        "movicol",
        "laxido",
        "lactulose",
        "dulcolax",
        "gaviscon",
        "codeine",
        "co-codamol",
        "tramadol",
        "oxynorm",
        "xarelto",
        "eliquis",
        "coumadin",
        "plavix",
        "zytiga",
        "erleada",
        "nubeqa",
        "temodar",
        "hydroxyurea",
        "imodium",
        "lomotil",
        "miralax",
        "senna",
        "colace",
        "ensure",
        "marinol",
        "megace",
        "emend",
        "prednisone",
        "steroids",
        "steroid",
        "chemotherapy",
        "chemo",
    ];
    t.len() >= 5
        && DRUG_SUFFIXES.iter().any(|s| t.ends_with(s))
        && !matches!(t, "abandoned" | "condone" | "undone")
        || NAMES.contains(&t)
}

/// Does `pat` (a phrase, or what is left of one) match `toks` starting at
/// `i`? Returns the end. Walks the phrase without allocating: routing runs
/// before every answer.
fn match_at(pat: &str, toks: &[String], i: usize) -> Option<usize> {
    if pat.is_empty() {
        return Some(i);
    }
    let (first, rest) = pat.split_once(' ').unwrap_or((pat, ""));
    if first == "~" {
        for skip in 0..=5 {
            if i + skip > toks.len() {
                break;
            }
            if let Some(end) = match_at(rest, toks, i + skip) {
                return Some(end);
            }
        }
        return None;
    }
    let t = toks.get(i)?;
    let ok = if first == "*" {
        true
    } else if first == "#" {
        t.starts_with(|c: char| c.is_ascii_digit())
    } else if let Some(stem) = first.strip_suffix('*') {
        t.starts_with(stem)
    } else {
        t == first
    };
    if ok {
        match_at(rest, toks, i + 1)
    } else {
        None
    }
}

/// Every occurrence of any of `phrases` in a clause, as token ranges.
fn occurrences(phrases: &[&str], c: &Clause) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for ph in phrases {
        if *ph == "@temp" || *ph == "@lowsat" {
            if (*ph == "@temp" && c.hot_number) || (*ph == "@lowsat" && c.low_sat) {
                out.push((0, 0));
            }
            continue;
        }
        if *ph == "@drug" {
            out.extend(
                c.toks
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| looks_like_drug(t))
                    .map(|(i, _)| (i, i + 1)),
            );
            continue;
        }
        // A phrase with a plain word the clause lacks cannot match: most
        // phrases stop here, which keeps routing well under a millisecond.
        let absent = ph
            .split(' ')
            .find(|w| !w.ends_with('*') && *w != "~")
            .is_some_and(|w| !c.set.contains(w));
        if absent {
            continue;
        }
        for i in 0..c.toks.len() {
            if let Some(end) = match_at(ph, &c.toks, i) {
                out.push((i, end));
            }
        }
    }
    out
}

const NEGATORS: &[&str] = &[
    "no", "not", "never", "without", "denies", "deny", "nor", "none",
];
/// Everyday figures of speech that use symptom words.
const FIGURATIVE: &[&str] = &[
    "spring fever",
    "cabin fever",
    "fever pitch",
    "stroke of",
    "confused about",
    "confused by",
    "confused with",
    "confused on",
    "confusing",
    "driving me ~ loopy",
    "driving me crazy",
    "made me ~ pass out",
    "pass out if",
    "faint if",
    "faint at the sight",
    "killing it",
    "bleeding me dry",
    "bleed me dry",
    "gave me a heart attack",
    "give me a heart attack",
    "take my breath away",
    "took my breath away",
    "out of it for",
    // Habits, not events: "my butt goes numb on long drives".
    "goes numb",
    "go numb when",
    "numb when i sit",
];

/// Words that end a negation's reach looking backwards.
const BARRIERS: &[&str] = &[
    ",", "just", "and", "but", "or", "with", "so", "because", "though", "although",
];
/// Words after a symptom saying it is over.
const RESOLVED: &[&str] = &[
    "gone", "resolved", "stopped", "better", "away", "subsided", "normal", "fine",
];
/// Distant past: the symptom is history, not news.
const DISTANT: &[&[&str]] = &[
    &["when", "i", "was", "a"],
    &["when", "i", "was", "young"],
    &["when", "i", "was", "little"],
    &["as", "a", "teenager"],
    &["as", "a", "kid"],
    &["as", "a", "child"],
    &["growing", "up"],
    &["years", "ago"],
    &["year", "ago"],
    &["months", "ago"],
    &["month", "ago"],
    &["last", "year"],
    &["used", "to"],
    &["back", "in"],
    &["a", "while", "ago"],
    &["long", "time", "ago"],
    &["when", "i", "was", "diagnosed"],
    &["previous", "treatment"],
    &["last", "time"],
    &["last", "spring"],
    &["last", "summer"],
    &["last", "fall"],
    &["last", "autumn"],
    &["last", "winter"],
    &["last", "month"],
    &["months", "back"],
    &["years", "back"],
];
/// Words that make what follows hypothetical, feared, or general.
const HYPOTHETICAL: &[&[&str]] = &[
    &["if"],
    &["whether"],
    &["unless"],
    &["in", "case"],
    &["when", "should"],
    &["when", "to"],
    &["when", "do", "i"],
    &["how", "do", "i", "know"],
    &["how", "will", "i", "know"],
    &["how", "would", "i", "know"],
    &["signs", "of"],
    &["sign", "of"],
    &["symptoms", "of"],
    &["symptom", "of"],
    &["afraid"],
    &["scared"],
    &["worried"],
    &["worry"],
    &["worries"],
    &["fear"],
    &["fears"],
    &["terrified"],
    &["nervous"],
    &["anxious"],
    &["risk"],
    &["chance"],
    &["chances"],
    &["likely"],
    &["prevent"],
    &["avoid"],
    &["common"],
    &["possible", "to"],
    &["cause"],
    &["causes"],
    &["caused"],
    &["mean"],
    &["means"],
    &["what", "is"],
    &["what", "are"],
    &["called"],
    &["called"],
    &["watch", "for"],
    &["look", "out", "for"],
    &["warned"],
    &["told", "me"],
    &["said"],
    &["might"],
    &["would"],
    &["just", "asking"],
    &["hypothetically"],
    &["may"],
    &["could", "i"],
    &["will", "i"],
    &["would", "i"],
    &["ever"],
    &["after", "surgery", "is"],
];
/// Markers of a present, ongoing situation: they outweigh a hypothetical
/// framing ("what do I do if my temp is 101 right now").
const PRESENT: &[&[&str]] = &[
    &["right", "now"],
    &["now"],
    &["currently"],
    &["since"],
    &["today"],
    &["tonight"],
    &["this", "morning"],
    &["this", "afternoon"],
    &["this", "evening"],
    &["last", "night"],
    &["yesterday"],
    &["for", "hours"],
    &["an", "hour", "ago"],
    &["hours", "ago"],
    &["minutes", "ago"],
    &["all", "day"],
    &["all", "night"],
    &["still"],
    &["keeps"],
    &["keep"],
];
/// Plain markers of the present that outweigh a mention of the past.
const NOW: &[&[&str]] = &[
    &["right", "now"],
    &["today"],
    &["tonight"],
    &["this", "morning"],
    &["this", "afternoon"],
    &["this", "evening"],
    &["last", "night"],
    &["yesterday"],
    &["hours", "ago"],
    &["minutes", "ago"],
    &["worse"],
];
/// People the message can be about.
const PERSONAL: &[&str] = &[
    "i",
    "me",
    "my",
    "myself",
    "we",
    "us",
    "our",
    "he",
    "she",
    "his",
    "her",
    "him",
    "mom",
    "mum",
    "mother",
    "dad",
    "father",
    "husband",
    "wife",
    "son",
    "daughter",
    "partner",
    "boyfriend",
    "girlfriend",
    "brother",
    "sister",
    "grandma",
    "grandpa",
    "granny",
    "grandmother",
    "grandfather",
    "aunt",
    "uncle",
    "friend",
    "baby",
    "fiance",
    "fiancee",
    "spouse",
    "hubby",
    "mam",
    "mommy",
    "daddy",
    "papa",
    "nana",
];
/// People in general: a clause about them is not a report.
const GENERIC: &[&str] = &[
    "you", "someone", "people", "patients", "anyone", "somebody", "person", "one's",
];
/// Words that open a question about something rather than a report.
const INTERROGATIVE: &[&str] = &[
    "why", "what", "how", "can", "could", "does", "do", "did", "is", "are", "was", "were", "will",
    "would", "when", "which", "who", "should", "shall", "may", "might", "whats", "explain", "tell",
    "define", "describe",
];

fn contains_seq(toks: &[String], seq: &[&str]) -> Option<usize> {
    toks.windows(seq.len())
        .position(|w| w.iter().zip(seq).all(|(a, b)| a == b))
}

/// Is the occurrence `(i, end)` of a symptom in clause `c` a live report?
/// `strict` (all but self-harm) also requires it not be hypothetical or
/// general.
fn live(c: &Clause, (i, end): (usize, usize), strict: bool) -> bool {
    let t = &c.toks;
    // Negated: a negator within five words before, not past a conjunction
    // ("I haven't coughed up any blood").
    let mut j = i;
    let mut steps = 0;
    while j > 0 && steps < 5 {
        j -= 1;
        steps += 1;
        if BARRIERS.contains(&t[j].as_str()) {
            break;
        }
        if NEGATORS.contains(&t[j].as_str()) {
            return false;
        }
    }
    // "No blood", inside the phrase ("cough after radiation, no blood").
    if end >= i + 3 && matches!(t[end - 2].as_str(), "no" | "without" | "never") {
        return false;
    }
    // Figures of speech: "spring fever", "a stroke of luck", "confused
    // about my plan", "the bill nearly made me pass out".
    if occurrences(FIGURATIVE, c)
        .into_iter()
        .any(|(a, b)| a < end && i < b)
    {
        return false;
    }
    if !strict {
        // Self-harm: a question about someone who died, or about being
        // screened, is not a report ("I said no").
        const ABOUT: &[&[&str]] = &[
            &["died", "by"],
            &["committed"],
            &["whether"],
            &["asked", "if"],
            &["asked", "me", "if"],
            &["look", "for"],
            &["warning", "signs"],
            &["i", "said", "no"],
        ];
        return !ABOUT.iter().any(|a| contains_seq(t, a).is_some());
    }
    // Resolved: "the bleeding stopped", "fever went away" (not "won't stop").
    // Looked for inside the phrase too: "bleeding stopped after an hour".
    let after = &t[(i + 1).min(t.len())..(end + 4).min(t.len())];
    // "Gone" ends a symptom ("the fever is gone"), unless it says what the
    // symptom became ("my legs have gone numb").
    let resolved_at = after.iter().enumerate().position(|(k, w)| {
        RESOLVED.contains(&w.as_str())
            && (w != "gone"
                || after
                    .get(k + 1)
                    .is_none_or(|n| matches!(n.as_str(), "now" | "and" | "but" | "so" | "away")))
    });
    if let Some(k) = resolved_at {
        if !after[..k].iter().any(|w| w == "not" || w == "never") {
            return false;
        }
    }
    let year = t.windows(2).any(|w| {
        matches!(w[0].as_str(), "in" | "since" | "during")
            && w[1].len() == 4
            && (w[1].starts_with("19") || w[1].starts_with("20"))
            && w[1].chars().all(|c| c.is_ascii_digit())
    });
    let present = c.hot_number || c.low_sat || PRESENT.iter().any(|p| contains_seq(t, p).is_some());
    // "Had chest radiation last month and tonight it's way worse": the
    // past is context when the message also speaks of now, plainly ("now"
    // and "still" alone do not: "had a stroke in 2015 and now has cancer").
    let now = c.hot_number || c.low_sat || NOW.iter().any(|p| contains_seq(t, p).is_some());
    if (year || DISTANT.iter().any(|d| contains_seq(t, d).is_some())) && !now {
        return false;
    }
    // "Sometimes", "in general", "usually": a pattern asked about, not an
    // event reported.
    let general = t
        .iter()
        .any(|w| matches!(w.as_str(), "sometimes" | "usually" | "generally"))
        || contains_seq(t, &["in", "general"]).is_some();
    if general && !present {
        return false;
    }
    // "A little winded", "aches a bit": mild, said so, just before or after.
    let mild = |r: &[String]| {
        r.windows(2).any(|w| {
            matches!(
                (w[0].as_str(), w[1].as_str()),
                ("a", "little") | ("a", "bit")
            )
        }) || r
            .iter()
            .any(|w| matches!(w.as_str(), "slightly" | "mild" | "mildly"))
    };
    // After the symptom, "for a bit" is how long, not how much.
    let after_mild = {
        let r = &t[end.min(t.len())..(end + 3).min(t.len())];
        mild(r) && r.first().is_none_or(|w| w != "for")
    };
    if mild(&t[i.saturating_sub(3)..i.min(t.len())]) || after_mild {
        return false;
    }
    // "My granddaughter has a fever, should she stay away from me while I'm
    // on chemo?": about passing an infection on, not about the patient.
    const EXPOSURE: &[&[&str]] = &[
        &["stay", "away"],
        &["keep", "away"],
        &["still", "visit"],
        &["visit", "me"],
        &["be", "around"],
        &["around", "me"],
        &["catch", "it"],
    ];
    if EXPOSURE.iter().any(|e| contains_seq(t, e).is_some()) && !now {
        return false;
    }
    // "What does neutropenic fever mean?": asking what a word means.
    let definition = t.iter().any(|w| {
        matches!(
            w.as_str(),
            "mean" | "means" | "meaning" | "definition" | "define" | "explain"
        )
    });
    if definition && !(c.hot_number || c.low_sat) {
        return false;
    }
    let before = &t[..i.min(t.len())];
    let hypothetical = HYPOTHETICAL
        .iter()
        .any(|h| contains_seq(before, h).is_some());
    if hypothetical && !present {
        return false;
    }
    let personal = t.iter().any(|w| PERSONAL.contains(&w.as_str()));
    if personal || present {
        return true;
    }
    let generic = t.iter().any(|w| GENERIC.contains(&w.as_str()));
    let opener = t.first().map(String::as_str).unwrap_or("");
    let interrogative = INTERROGATIVE.contains(&opener)
        && !(matches!(opener, "can" | "could" | "do" | "does" | "did")
            && t.get(1).is_some_and(|w| w == "not"));
    !generic && !interrogative
}

/// A live occurrence of any phrase in the group, as (clause, start, end).
fn live_hits(group: &[&str], cs: &[Clause], strict: bool) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for (ci, c) in cs.iter().enumerate() {
        for occ in occurrences(group, c) {
            if live(c, occ, strict) {
                out.push((ci, occ.0, occ.1));
            }
        }
    }
    out
}

/// The emergency a message reports, if any.
pub fn emergency(message: &str) -> Option<Emergency> {
    let cs = clauses(message);
    for s in SITUATIONS {
        let strict = s.escalation != Escalation::Crisis;
        for tr in s.triggers {
            if !tr.context.is_empty() && !cs.iter().any(|c| !occurrences(tr.context, c).is_empty())
            {
                continue;
            }
            let hits: Vec<Vec<(usize, usize, usize)>> = tr
                .groups
                .iter()
                .map(|g| live_hits(g, &cs, strict))
                .collect();
            if hits.iter().any(Vec::is_empty) {
                continue;
            }
            let mut used: Vec<usize> = Vec::new();
            if let Some(w) = tr.near {
                // All groups within `w` tokens in one clause.
                let first = &hits[0];
                let ok = first.iter().find(|&&(ci, s0, _)| {
                    hits[1..].iter().all(|h| {
                        h.iter()
                            .any(|&(cj, s1, _)| cj == ci && s0.abs_diff(s1) <= w)
                    })
                });
                match ok {
                    Some(&(ci, _, _)) => used.push(ci),
                    None => continue,
                }
            } else {
                for h in &hits {
                    used.extend(h.iter().map(|x| x.0));
                }
            }
            used.sort_unstable();
            used.dedup();
            let evidence = used.iter().map(|&ci| cs[ci].orig.clone()).collect();
            let rest: Vec<&str> = cs
                .iter()
                .enumerate()
                .filter(|(ci, c)| !used.contains(ci) && asks_something(c))
                .map(|(_, c)| c.orig.as_str())
                .collect();
            let rest = (!rest.is_empty()).then(|| {
                let r = rest.join(" ");
                r.trim_start_matches(|c: char| !c.is_alphanumeric())
                    .trim_start_matches("and also ")
                    .trim_start_matches("also ")
                    .trim_start_matches("also, ")
                    .trim_start_matches("btw ")
                    .to_string()
            });
            return Some(Emergency {
                situation: s,
                evidence,
                rest,
            });
        }
    }
    None
}

/// A clause that asks something on its own ("what is HER2?"), not a
/// remark ("help", "please").
fn asks_something(c: &Clause) -> bool {
    let content = c
        .toks
        .iter()
        .filter(|w| {
            !is_stopword(w)
                && !matches!(
                    w.as_str(),
                    "also" | "btw" | "please" | "help" | "thanks" | "ok"
                )
        })
        .count();
    let question = c.orig.trim_end().ends_with('?')
        || c.toks
            .iter()
            .take(3)
            .any(|w| INTERROGATIVE.contains(&w.as_str()));
    question && content >= 1
}

/// What a dosing question asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DosingAsk {
    /// Which kind: amount, missed, double, stop, start, change.
    pub kind: &'static str,
    /// The clause that asks it.
    pub evidence: String,
}

/// Personal forms that make a dose question individual.
const SELF_DOSE: &[&str] = &[
    "i", "my", "me", "we", "he", "she", "his", "her", "him", "they", "their", "mom", "dad",
    "husband", "wife", "son", "daughter", "myself",
];

const DOSE_PATTERNS: &[(&str, &[&str])] = &[
    (
        "double",
        &[
            "double ~ dose*",
            "double up",
            "double the",
            "double my",
            "double his",
            "double her",
            "take two",
            "take 2",
            "take both",
            "two doses",
            "2 doses",
            "twice the",
            "twice today",
            "twice tonight",
            "take ~ twice",
            "2 of my",
            "two of my",
            "extra dose*",
            "extra pill*",
            "extra tablet*",
            "another dose",
            "another pill",
            "make up ~ dose",
            "make up for",
        ],
    ),
    (
        "missed",
        &[
            "missed ~ dose*",
            "miss* ~ dose*",
            "forgot ~ dose*",
            "forgot to take",
            "forgot my",
            "missed my",
            "skipped",
            "skip ~ yesterday",
            "forgot",
            "forget",
            "missed",
            "missed a",
            "missed one",
            "missed yesterday",
            "missed today",
            "missed last",
            "skipped ~ dose*",
            "skipped my",
            "did not take ~ dose*",
            "did not take my",
            "late ~ dose",
            "threw up ~ pill*",
            "threw up ~ dose",
            "vomited ~ pill*",
            "vomited ~ dose",
        ],
    ),
    (
        "amount",
        &[
            "how much ~ should",
            "how much ~ take",
            "how much ~ give",
            "how many ~ should",
            "how many ~ take",
            "how many ~ give",
            "how many mg",
            "how much ~ ~ take",
            "how many ~ ~ take",
            "how much ~ ~ give",
            "how many ~ ~ give",
            "can i take #",
            "can i have #",
            "can he take #",
            "can she take #",
            "take # ~ instead",
            "how much ~ can * have",
            "how many ~ can * have",
            "how much ~ is ok",
            "how many ~ is ok",
            "how much ~ is okay",
            "how many ~ is okay",
            "how much ~ is safe",
            "how many ~ is safe",
            "how much ~ a day",
            "how many ~ a day",
            "how many milligrams",
            "how often should",
            "how often do i take",
            "how often can",
            "what dose ~ should",
            "what dose ~ take",
            "what dose ~ me",
            "what dose ~ my",
            "what dosage",
            "which dose",
            "right dose",
            "correct dose",
            "dose ~ for me",
            "dose for my",
            "dosage for",
            "my dose",
            "my dosage",
            "his dose",
            "her dose",
            "can i take more",
            "can i take ~ more",
            "take ~ more than",
            "is * mg ~ enough",
            "is * mg ~ too much",
            "too much ~ take",
            "mg ~ should i",
            "mg ~ can i",
            "pills ~ should i",
            "tablets ~ should i",
            "safe to take * mg",
            "maximum dose ~ i",
            "max dose ~ i",
        ],
    ),
    (
        "stop",
        &[
            "stop taking",
            "hold my",
            "hold ~ before",
            "just stop",
            "ok to stop",
            "okay to stop",
            "quit ~ pill*",
            "quit ~ med*",
            "quit his",
            "quit her",
            "stop my",
            "stop the ~ pill*",
            "quit taking",
            "quit my",
            "come off",
            "go off",
            "get off my",
            "skip ~ dose*",
            "skip my",
            "skip the",
            "pause my",
            "take a break from my",
            "stop ~ tamoxifen",
            "stop ~ letrozole",
            "stop ~ anastrozole",
            "stop ~ medication*",
            "stop ~ medicine*",
            "stop ~ meds",
            "stop ~ pills",
        ],
    ),
    (
        "change",
        &[
            "increase ~ dose*",
            "open ~ capsule*",
            "sprinkle",
            "mix ~ with food",
            "dissolve",
            "increase my",
            "decrease my",
            "lower my",
            "raise my",
            "up my",
            "go up to",
            "go down to",
            "bump ~ up",
            "switch from",
            "switch ~ to",
            "swap ~ for",
            "at night instead",
            "instead of the evening",
            "in the morning instead",
            "instead of",
            "instead of the morning",
            "instead of at night",
            "decrease ~ dose*",
            "lower ~ dose*",
            "raise ~ dose*",
            "reduce ~ dose*",
            "cut ~ dose*",
            "cut ~ pill*",
            "cut ~ in half",
            "halve",
            "split ~ pill*",
            "split ~ tablet*",
            "change ~ dose*",
            "adjust ~ dose*",
            "lower dose",
            "higher dose",
            "smaller dose",
            "bigger dose",
            "half ~ dose",
            "half ~ pill",
            "half a",
            "take less",
            "take fewer",
            "take it ~ every other day",
            "every other day instead",
            "take it at night instead",
            "crush",
        ],
    ),
    (
        "start",
        &[
            "start taking",
            "start her",
            "start his",
            "start my",
            "start the",
            "start giving",
            "start it",
            "start them",
            "begin my",
            "put ~ patch on",
            "put the new",
            "begin taking",
            "start ~ pill*",
            "start ~ med*",
            "start the new",
            "ok to take",
            "okay to take",
            "restart",
            "start back",
            "go back on",
            "start ~ again",
            "should i take ~ with",
            "can i take ~ with",
            "can i take * and",
            "can i take ~ while",
            "should i take ~ while",
            "okay to take ~ while",
            "ok to take ~ while",
            "safe to take ~ with",
            "safe to take ~ while",
            "should i be taking",
            "should i take",
            "can i give",
            "should i give",
        ],
    ),
];

/// Words that make "stop"/"skip"/"start" about medicine rather than life.
const MEDICINE_WORDS: &[&str] = &[
    "dose*",
    "pill*",
    "tablet*",
    "capsule*",
    "med",
    "meds",
    "medicine*",
    "medication*",
    "drug*",
    "mg",
    "milligram*",
    "tamoxifen",
    "letrozole",
    "anastrozole",
    "exemestane",
    "capecitabine",
    "xeloda",
    "ibrance",
    "palbociclib",
    "olaparib",
    "lynparza",
    "imatinib",
    "gleevec",
    "ibrutinib",
    "imbruvica",
    "lenalidomide",
    "revlimid",
    "morphine",
    "oxycodone",
    "ondansetron",
    "zofran",
    "dexamethasone",
    "steroid*",
    "prednisone",
    "tylenol",
    "acetaminophen",
    "paracetamol",
    "ibuprofen",
    "advil",
    "aspirin",
    "oxy",
    "opioid*",
    "painkiller*",
    "fentanyl",
    "patch",
    "insulin",
    "warfarin",
    "blood thinner*",
    "lovenox",
    "heparin",
    "compazine",
    "prochlorperazine",
    "lorazepam",
    "ativan",
    "gabapentin",
    "neulasta",
    "filgrastim",
    "neupogen",
    "sorafenib",
    "lenvatinib",
    "osimertinib",
    "tagrisso",
    "verzenio",
    "abemaciclib",
    "kisqali",
    "ribociclib",
    "enzalutamide",
    "xtandi",
    "abiraterone",
    "zytiga",
    "bicalutamide",
    "hydroxyurea",
    "methotrexate",
    "temozolomide",
    "temodar",
    "vitamin*",
    "supplement*",
    "melatonin",
    "cbd",
    "marinol",
    "miralax",
    "senna",
    "colace",
    "laxative*",
    "antibiotic*",
    "megestrol",
    "hormone*",
    "pain reliever*",
    "zometa",
    "xgeva",
    "iron",
];

/// A request for an individual dosing decision. `drugs` are the lower-case
/// drug names the knowledge base has pages for, sorted; they count as medicine words.
pub fn dosing(message: &str, drugs: &[String]) -> Option<DosingAsk> {
    for c in clauses(message) {
        // "Is it OK to begin taking CBD oil while on chemo?" asks for the
        // person's own decision without saying "I".
        let asks_permission = c.toks.windows(4).any(|w| {
            w[0] == "is"
                && w[1] == "it"
                && matches!(w[2].as_str(), "ok" | "okay" | "safe" | "alright" | "fine")
                && w[3] == "to"
        });
        let personal = asks_permission || c.toks.iter().any(|w| SELF_DOSE.contains(&w.as_str()));
        let medicine = !occurrences(MEDICINE_WORDS, &c).is_empty()
            || c.toks
                .iter()
                .any(|w| looks_like_drug(w) || drugs.binary_search(w).is_ok());
        // "What is high-dose chemotherapy?", "dose-dense": about dosing in
        // general, unless the person's own dose is asked about.
        let general = c.toks.windows(2).any(|w| {
            matches!(
                (w[0].as_str(), w[1].as_str()),
                ("high", "dose")
                    | ("dose", "dense")
                    | ("dose", "escalation")
                    | ("low", "dose")
                    | ("loading", "dose")
                    | ("dose", "reduction")
            )
        });
        if general && !personal {
            continue;
        }
        for (kind, patterns) in DOSE_PATTERNS {
            let hit = occurrences(patterns, &c)
                .into_iter()
                .any(|occ| live(&c, occ, false));
            // A dose question names a medicine (or the word "dose") and is
            // about someone's own: "how much does it cost" and "stop
            // worrying" are not.
            let dose_word = c
                .toks
                .iter()
                .any(|w| w.starts_with("dose") || w.starts_with("dosage"));
            // "How much water should I drink during chemo?" asks an amount
            // of something that is not a medicine.
            const NOT_MEDICINE: &[&str] = &[
                "water",
                "fluid",
                "fluids",
                "food",
                "protein",
                "calories",
                "sleep",
                "exercise",
                "weight",
                "coffee",
                "alcohol",
                "wine",
                "sugar",
                "fiber",
                "fruit",
                "time",
                "money",
                "radiation",
                "hair",
                "does",
                "is",
                "will",
                "would",
            ];
            let amount_of_other = *kind == "amount"
                && c.toks.windows(3).any(|w| {
                    w[0] == "how"
                        && matches!(w[1].as_str(), "much" | "many")
                        && NOT_MEDICINE.contains(&w[2].as_str())
                });
            if amount_of_other {
                continue;
            }
            if hit && (medicine || dose_word) && personal {
                return Some(DosingAsk {
                    kind,
                    evidence: c.orig.clone(),
                });
            }
        }
    }
    None
}

/// Stems of words about health, the body, or cancer care. A question with
/// none of them, and no cancer type or drug, is out of scope.
const HEALTH: &[&str] = &[
    "cancer",
    "tumor",
    "tumour",
    "oncolog",
    "chemo",
    "radiat",
    "radiother",
    "surg",
    "operat",
    "doctor",
    "dr",
    "physician",
    "nurse",
    "hospital",
    "clinic",
    "hospice",
    "palliat",
    "health",
    "medic",
    "drug",
    "pill",
    "tablet",
    "dose",
    "dosage",
    "pharm",
    "prescri",
    "pain",
    "ache",
    "hurt",
    "sore",
    "sick",
    "ill",
    "disease",
    "disorder",
    "syndrome",
    "symptom",
    "diagnos",
    "treat",
    "therap",
    "cure",
    "heal",
    "recover",
    "remission",
    "relapse",
    "recur",
    "blood",
    "body",
    "skin",
    "bone",
    "organ",
    "heart",
    "lung",
    "liver",
    "kidney",
    "brain",
    "breast",
    "colon",
    "bowel",
    "stomach",
    "belly",
    "abdom",
    "prostat",
    "ovar",
    "uter",
    "cervi",
    "bladder",
    "thyroid",
    "pancrea",
    "lymph",
    "gland",
    "cell",
    "gene",
    "genetic",
    "dna",
    "mutation",
    "brca",
    "her2",
    "biopsy",
    "scan",
    "mri",
    "x-ray",
    "xray",
    "ultrasound",
    "mammo",
    "screen",
    "test",
    "lab",
    "pet",
    "ct",
    "stage",
    "grade",
    "metasta",
    "spread",
    "benign",
    "malignan",
    "lump",
    "mass",
    "growth",
    "polyp",
    "mole",
    "biomarker",
    "marker",
    "immun",
    "vaccin",
    "virus",
    "hpv",
    "infect",
    "fever",
    "nause",
    "vomit",
    "tired",
    "fatigue",
    "sleep",
    "insomnia",
    "weight",
    "appetite",
    "diet",
    "nutrition",
    "vitamin",
    "supplement",
    "exercise",
    "smok",
    "tobacco",
    "cigar",
    "vap",
    "alcohol",
    "drink",
    "sun",
    "uv",
    "tan",
    "sunscreen",
    "pregnan",
    "fertil",
    "sex",
    "menopaus",
    "hormone",
    "period",
    "birth",
    "baby",
    "child",
    "survivor",
    "caregiver",
    "care",
    "insurance",
    "medicare",
    "medicaid",
    "trial",
    "study",
    "research",
    "side effect",
    "hair",
    "mouth",
    "throat",
    "teeth",
    "tooth",
    "eye",
    "ear",
    "nose",
    "head",
    "neck",
    "back",
    "leg",
    "arm",
    "chest",
    "breath",
    "cough",
    "anxiety",
    "depress",
    "stress",
    "mental",
    "grief",
    "counsel",
    "psych",
    "emotion",
    "cope",
    "coping",
    "die",
    "dying",
    "death",
    "end of life",
    "funeral",
    "pallia",
    "wound",
    "scar",
    "rash",
    "itch",
    "swell",
    "bleed",
    "bruise",
    "constipat",
    "diarrh",
    "poop",
    "stool",
    "urin",
    "pee",
    "numb",
    "tingl",
    "neuropath",
    "memory",
    "dizz",
    "faint",
    "mri",
    "port",
    "infusion",
    "transplant",
    "marrow",
    "platelet",
    "anemi",
    "iron",
    "calcium",
    "sugar",
    "diabet",
    "pressure",
    "cholesterol",
    "allerg",
    "asthma",
    "flu",
    "covid",
    "cold",
    "sneez",
    "headache",
    "migraine",
    "arthritis",
    "joint",
    "muscle",
    "nerve",
    "spine",
    "hip",
    "knee",
    "foot",
    "feet",
    "hand",
    "finger",
    "nail",
    "weigh",
    "obes",
    "bmi",
    "carcinogen",
    "toxic",
    "chemical",
    "radon",
    "asbestos",
    "benzene",
    "mammogram",
    "pap",
    "colonoscopy",
    "psa",
    "wellness",
    "well-being",
    "wellbeing",
    "patient",
    "prognos",
    "surviv",
    "life expectancy",
    "outlook",
    "hereditar",
    "inherit",
    "tylenol",
    "ibuprofen",
    "aspirin",
    "opioid",
    "morphine",
    "steroid",
    "antibiotic",
    "sleepy",
    "energy",
    "eat",
    "food",
    "meal",
    "protein",
    "sugar",
    "coffee",
    "caffeine",
    "water",
    "hydrat",
    "dehydrat",
    "wig",
    "scalp",
    "lymphedema",
    "ostomy",
    "stoma",
    "catheter",
    "feeding tube",
    "oxygen",
    "hormonal",
    "estrogen",
    "testosterone",
    "menstrua",
    "vagin",
    "penis",
    "testic",
    "erect",
    "libido",
    "mastectomy",
    "lumpectomy",
    "reconstruct",
    "implant",
    "nipple",
    "glucose",
    "keto",
    "vegan",
    "fasting",
    "organic",
    "pesticide",
    "radiation",
    "cell phone",
    "5g",
    "microwave",
    "deodorant",
    "antiperspirant",
    "hair dye",
    "talc",
    "artificial sweetener",
    "aspartame",
    "burnt",
    "processed meat",
    "red meat",
    "bra",
    "stress",
    "doula",
    "midwife",
    "pet scan",
    "spinal",
    "cord",
    "stroke",
    "effusion",
    "pleura",
    "uti",
    "urinary",
    "snor",
    "walk",
    "steps a day",
    "second opinion",
    "appointment",
    "oncologist",
    "specialist",
    "thermometer",
    "temp",
    "poo",
    "dnr",
    "resuscitat",
    "advance directive",
    "living will",
    "taste",
    "cycle",
    "hemopt",
    "threw up",
    "throw up",
    "throwing up",
    "puke",
    "disability",
    "lightheaded",
    "vomiting",
    "hydrated",
    "premed",
    "benadryl",
    "worried",
];

/// Endings of medical words: "-oma", "-itis", "-ectomy", "-scopy".
const MEDICAL_SUFFIXES: &[&str] = &[
    "oma", "omas", "itis", "osis", "emia", "aemia", "ectomy", "otomy", "ostomy", "plasty", "scopy",
    "graphy", "pathy", "algia", "plasia", "trophy", "cytes", "cyte",
];

/// Is the message about neither cancer nor health? `drugs` as for [`dosing`].
pub fn out_of_scope(message: &str, drugs: &[String]) -> bool {
    let lower = format!(" {} ", message.to_lowercase());
    let (toks, hot) = normalize(message);
    let medical = |t: &String| {
        looks_like_drug(t)
            || drugs.binary_search(t).is_ok()
            || (t.len() >= 6 && MEDICAL_SUFFIXES.iter().any(|s| t.ends_with(s)))
    };
    if hot || toks.iter().any(medical) {
        return false;
    }
    let words: Vec<&str> = toks.iter().map(String::as_str).collect();
    let joined = format!(" {} ", words.join(" "));
    let health = HEALTH.iter().any(|h| {
        if h.contains(' ') || h.contains('-') {
            lower.contains(h) || joined.contains(h)
        } else if h.len() <= 3 {
            // Short stems match whole words only ("ill", not "will").
            words
                .iter()
                .any(|w| w == h || w.strip_suffix('s') == Some(h))
        } else {
            words.iter().any(|w| w.starts_with(h))
        }
    });
    // The typo-tolerant catalog search ("lukemia") is the slow part: only
    // for what the word lists found nothing in.
    !health && detect(message, Matching::Typos).is_empty()
}

/// Keyboard rows: runs of them are key-mashing, not words.
const KEYBOARD_ROWS: &[&str] = &["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890"];

/// Words that carry no question on their own.
const VAGUE: &[&str] = &[
    "cancer",
    "cancers",
    "help",
    "question",
    "questions",
    "thing",
    "things",
    "stuff",
    "info",
    "information",
    "please",
    "hi",
    "hello",
    "hey",
    "tumor",
    "tumors",
    "tumour",
    "ok",
    "okay",
    "yes",
    "no",
    "thanks",
    "thank",
    "test",
    "testing",
    "asap",
    "urgent",
    "idk",
    "um",
    "uh",
    "hmm",
    "huh",
    "lol",
    "know",
    "tell",
    "want",
    "need",
    "something",
    "anything",
    "everything",
    "about",
    "explain",
    "answer",
    "say",
    "mean",
    "means",
    "like",
    "good",
    "bad",
    "ask",
    "asking",
    "sure",
    "really",
    "just",
    "get",
    "got",
    "go",
    "one",
    "doc",
    "stuff",
    "whatever",
];

/// Is the message too short or garbled to answer without guessing?
pub fn unclear(message: &str, drugs: &[String]) -> bool {
    if !detect(message, Matching::Exact).is_empty() {
        return false;
    }
    let (toks, _) = normalize(message);
    let alpha: Vec<&String> = toks
        .iter()
        .filter(|t| t.chars().any(char::is_alphabetic))
        .collect();
    if alpha.is_empty() {
        return true;
    }
    if toks.iter().any(|t| drugs.binary_search(t).is_ok()) {
        return false;
    }
    let mashed = |t: &str| {
        let n = t.chars().count();
        let vowels = t.chars().filter(|c| "aeiouy".contains(*c)).count();
        (n >= 4 && vowels == 0)
            || (n >= 3 && KEYBOARD_ROWS.iter().any(|r| r.contains(t)))
            || t.chars()
                .collect::<Vec<_>>()
                .windows(3)
                .any(|w| w[0] == w[1] && w[1] == w[2])
    };
    let garbled = alpha.iter().filter(|t| mashed(t)).count();
    if garbled * 2 >= alpha.len() {
        return true;
    }
    // "cancr", "cancre": the vague word, misspelled.
    let vague = |t: &str| VAGUE.contains(&t) || edit_distance(t, "cancer", 1) <= 1;
    let meaningful = alpha
        .iter()
        .filter(|t| !is_stopword(t) && !vague(t) && t.chars().count() >= 2)
        .count();
    let numbers = toks.iter().any(|t| t.chars().any(|c| c.is_ascii_digit()));
    meaningful == 0 && !numbers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(q: &str) -> Option<&'static str> {
        emergency(q).map(|e| e.situation.id)
    }

    #[test]
    fn reports_route_and_questions_about_symptoms_do_not() {
        assert_eq!(
            situation("I have a fever of 101 after chemo yesterday"),
            Some("neutropenic_fever")
        );
        assert_eq!(situation("Why does chemo raise infection risk?"), None);
        assert_eq!(situation("why does chemo cause fever?"), None);
        assert_eq!(
            situation("What should I do if I get a fever during chemo?"),
            None
        );
        assert_eq!(
            situation("I don't have a fever but I feel tired after chemo"),
            None
        );
        assert_eq!(situation("my mom cant breath"), Some("trouble_breathing"));
        assert_eq!(
            situation("help my dad isn't breathing"),
            Some("trouble_breathing")
        );
        assert_eq!(situation("I'm not short of breath at all"), None);
        assert_eq!(
            situation("my back hurts and my legs went numb this morning"),
            Some("spinal_cord_compression")
        );
        assert_eq!(situation("the bleeding won't stop"), Some("bleeding"));
        assert_eq!(situation("the bleeding stopped after an hour"), None);
        assert_eq!(situation("i want to kill myself"), Some("self_harm"));
        assert_eq!(situation("I don't want to die"), None);
        assert_eq!(
            situation("I had a fever during chemo two years ago, will it happen again?"),
            None
        );
    }

    #[test]
    fn a_mixed_message_keeps_its_other_question() {
        let e = emergency("I have a fever after chemo and also what is HER2?").unwrap();
        assert_eq!(e.situation.id, "neutropenic_fever");
        assert_eq!(e.rest.as_deref(), Some("what is HER2?"));
        assert_eq!(e.evidence, vec!["I have a fever after chemo".to_string()]);
    }

    #[test]
    fn dosing_scope_and_unclear() {
        let drugs = vec!["tamoxifen".to_string()];
        assert_eq!(
            dosing(
                "I missed my tamoxifen yesterday, should I take two today?",
                &drugs
            )
            .map(|d| d.kind),
            Some("double")
        );
        assert!(dosing("What is tamoxifen?", &drugs).is_none());
        assert!(dosing("What is high-dose chemotherapy?", &drugs).is_none());
        assert!(out_of_scope(
            "What's the weather in Paris tomorrow?",
            &drugs
        ));
        assert!(!out_of_scope("How much sleep do adults need?", &drugs));
        assert!(!out_of_scope("what is HCC", &drugs));
        assert!(unclear("asdf qwer", &drugs));
        assert!(unclear("cancer?", &drugs));
        assert!(!unclear("melanoma", &drugs));
    }
}
