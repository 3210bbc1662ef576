//! User Application Profiles: for each category and edition, which data item each
//! FSPEC bit (field reference number, FRN) announces and how its length is found.
//!
//! The one place the layout of the supported editions lives (EUROCONTROL ASTERIX Part 4
//! CAT048, Part 2b CAT034, Part 9 CAT062, Part 12 CAT021). Every edition named here is
//! checked against libasterix's encoder (tests/asterix_oracle.rs): within each range
//! the editions share one UAP. A record is walked with these tables
//! alone ([`crate::asterix::record`]); the meaning of the items skyfence reads is in
//! the category modules. An FSPEC bit or a compound subfield the table does not define
//! (a spare, or an item of a later edition) cannot be skipped, since its length is
//! unknown: the record is rejected as `unknown_item`, never guessed.

/// How a data item's length is found (ASTERIX Part 1, §4.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    /// Always this many octets.
    Fixed(u8),
    /// A first part of `first` octets, then parts of `part` octets while the last
    /// octet of the previous part has its FX bit (bit 1) set.
    Extended {
        /// Octets of the first part.
        first: u8,
        /// Octets of each extension.
        part: u8,
    },
    /// A repetition factor octet, then that many parts of this many octets.
    Repetitive(u8),
    /// A primary subfield (7 presence bits per octet, FX in bit 1), then the present
    /// subfields in order; `None` marks a spare bit.
    Compound(&'static [Option<Fmt>]),
    /// A length octet counting itself, then the rest (SP and RE fields).
    Explicit,
}

/// One data item of a UAP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemDef {
    /// Its reference, e.g. `I048/010`.
    pub id: &'static str,
    /// How its length is found.
    pub fmt: Fmt,
}

/// The User Application Profile of one category in a range of editions.
#[derive(Debug)]
pub struct Uap {
    /// The category.
    pub category: u8,
    /// The editions this table describes (they share it).
    pub editions: &'static str,
    /// Item of each FRN, from FRN 1; `None` for a spare FRN.
    pub items: &'static [Option<ItemDef>],
}

const fn it(id: &'static str, fmt: Fmt) -> Option<ItemDef> {
    Some(ItemDef { id, fmt })
}

const F1: Fmt = Fmt::Fixed(1);
const F2: Fmt = Fmt::Fixed(2);
const EXT: Fmt = Fmt::Extended { first: 1, part: 1 };

/// CAT048, monoradar target reports, editions 1.27 to 1.32.
pub static CAT048: Uap = Uap {
    category: 48,
    editions: "1.27-1.32",
    items: &[
        it("I048/010", F2),
        it("I048/140", Fmt::Fixed(3)),
        it("I048/020", EXT),
        it("I048/040", Fmt::Fixed(4)),
        it("I048/070", F2),
        it("I048/090", F2),
        // Radar plot characteristics: SRL SRR SAM PRL PAM RPD APD, one octet each.
        it(
            "I048/130",
            Fmt::Compound(&[
                Some(F1),
                Some(F1),
                Some(F1),
                Some(F1),
                Some(F1),
                Some(F1),
                Some(F1),
            ]),
        ),
        it("I048/220", Fmt::Fixed(3)),
        it("I048/240", Fmt::Fixed(6)),
        it("I048/250", Fmt::Repetitive(8)),
        it("I048/161", F2),
        it("I048/042", Fmt::Fixed(4)),
        it("I048/200", Fmt::Fixed(4)),
        it("I048/170", EXT),
        it("I048/210", Fmt::Fixed(4)),
        it("I048/030", EXT),
        it("I048/080", F2),
        it("I048/100", Fmt::Fixed(4)),
        it("I048/110", F2),
        // Radial Doppler speed: CAL (2 octets), RDS (repetitive, 6 octets each).
        it(
            "I048/120",
            Fmt::Compound(&[Some(F2), Some(Fmt::Repetitive(6))]),
        ),
        it("I048/230", F2),
        it("I048/260", Fmt::Fixed(7)),
        it("I048/055", F1),
        it("I048/050", F2),
        it("I048/065", F1),
        it("I048/060", F2),
        it("I048/SP", Fmt::Explicit),
        it("I048/RE", Fmt::Explicit),
    ],
};

/// CAT034, monoradar service messages, editions 1.27 to 1.29.
pub static CAT034: Uap = Uap {
    category: 34,
    editions: "1.27-1.29",
    items: &[
        it("I034/010", F2),
        it("I034/000", F1),
        it("I034/030", Fmt::Fixed(3)),
        it("I034/020", F1),
        it("I034/041", F2),
        // System configuration and status: COM, -, -, PSR, SSR, MDS (2 octets), -.
        it(
            "I034/050",
            Fmt::Compound(&[Some(F1), None, None, Some(F1), Some(F1), Some(F2), None]),
        ),
        // System processing mode: COM, -, -, PSR, SSR, MDS, -.
        it(
            "I034/060",
            Fmt::Compound(&[Some(F1), None, None, Some(F1), Some(F1), Some(F1), None]),
        ),
        it("I034/070", Fmt::Repetitive(2)),
        it("I034/100", Fmt::Fixed(8)),
        it("I034/110", F1),
        it("I034/120", Fmt::Fixed(8)),
        it("I034/090", F2),
        it("I034/RE", Fmt::Explicit),
        it("I034/SP", Fmt::Explicit),
    ],
};

/// I062/380 aircraft derived data: 28 subfields (ADR ID MHG IAS TAS SAL FSS, TIS TID COM
/// SAB ACS BVR GVR, RAN TAR TAN GSP VUN MET EMC, POS GAL PUN MB IAR MAC BPS).
const I062_380: &[Option<Fmt>] = &[
    Some(Fmt::Fixed(3)),
    Some(Fmt::Fixed(6)),
    Some(F2),
    Some(F2),
    Some(F2),
    Some(F2),
    Some(F2),
    Some(EXT),
    Some(Fmt::Repetitive(15)),
    Some(F2),
    Some(F2),
    Some(Fmt::Fixed(7)),
    Some(F2),
    Some(F2),
    Some(F2),
    Some(F2),
    Some(F2),
    Some(F2),
    Some(F1),
    Some(Fmt::Fixed(8)),
    Some(F1),
    Some(Fmt::Fixed(6)),
    Some(F2),
    Some(F1),
    Some(Fmt::Repetitive(8)),
    Some(F2),
    Some(F2),
    Some(F2),
];

/// I062/290 system track update ages: TRK PSR SSR MDS ADS(2) ES VDL, UAT LOP MLT.
const I062_290: &[Option<Fmt>] = &[
    Some(F1),
    Some(F1),
    Some(F1),
    Some(F1),
    Some(F2),
    Some(F1),
    Some(F1),
    Some(F1),
    Some(F1),
    Some(F1),
];

/// I062/295 track data ages: 31 subfields of one octet.
const I062_295: &[Option<Fmt>] = &[Some(F1); 31];

/// I062/390 flight plan related data: TAG CSN IFI FCT TAC WTC DEP, DST RDS CFL CTL TOD
/// AST STS, STD STA PEM PEC.
const I062_390: &[Option<Fmt>] = &[
    Some(F2),
    Some(Fmt::Fixed(7)),
    Some(Fmt::Fixed(4)),
    Some(F1),
    Some(Fmt::Fixed(4)),
    Some(F1),
    Some(Fmt::Fixed(4)),
    Some(Fmt::Fixed(4)),
    Some(Fmt::Fixed(3)),
    Some(F2),
    Some(F2),
    Some(Fmt::Repetitive(4)),
    Some(Fmt::Fixed(6)),
    Some(F1),
    Some(Fmt::Fixed(7)),
    Some(Fmt::Fixed(7)),
    Some(F2),
    Some(Fmt::Fixed(7)),
];

/// I062/110 Mode 5 data and extended Mode 1: SUM PMN POS GA EM1 TOS XP.
const I062_110: &[Option<Fmt>] = &[
    Some(F1),
    Some(Fmt::Fixed(4)),
    Some(Fmt::Fixed(6)),
    Some(F2),
    Some(F2),
    Some(F1),
    Some(F1),
];

/// I062/500 estimated accuracies: APC COV APW AGA ABA ATV AA, ARC.
const I062_500: &[Option<Fmt>] = &[
    Some(Fmt::Fixed(4)),
    Some(F2),
    Some(Fmt::Fixed(4)),
    Some(F1),
    Some(F1),
    Some(F2),
    Some(F2),
    Some(F1),
];

/// I062/340 measured information: SID POS HEI MDC MDA TYP.
const I062_340: &[Option<Fmt>] = &[
    Some(F2),
    Some(Fmt::Fixed(4)),
    Some(F2),
    Some(F2),
    Some(F2),
    Some(F1),
];

/// CAT062, SDPS system tracks, editions 1.16 to 1.21.
pub static CAT062: Uap = Uap {
    category: 62,
    editions: "1.16-1.21",
    items: &[
        it("I062/010", F2),
        None,
        it("I062/015", F1),
        it("I062/070", Fmt::Fixed(3)),
        it("I062/105", Fmt::Fixed(8)),
        it("I062/100", Fmt::Fixed(6)),
        it("I062/185", Fmt::Fixed(4)),
        it("I062/210", F2),
        it("I062/060", F2),
        it("I062/245", Fmt::Fixed(7)),
        it("I062/380", Fmt::Compound(I062_380)),
        it("I062/040", F2),
        it("I062/080", EXT),
        it("I062/290", Fmt::Compound(I062_290)),
        it("I062/200", F1),
        it("I062/295", Fmt::Compound(I062_295)),
        it("I062/136", F2),
        it("I062/130", F2),
        it("I062/135", F2),
        it("I062/220", F2),
        it("I062/390", Fmt::Compound(I062_390)),
        it("I062/270", EXT),
        it("I062/300", F1),
        it("I062/110", Fmt::Compound(I062_110)),
        it("I062/120", F2),
        it("I062/510", Fmt::Extended { first: 3, part: 3 }),
        it("I062/500", Fmt::Compound(I062_500)),
        it("I062/340", Fmt::Compound(I062_340)),
        None,
        None,
        None,
        None,
        None,
        it("I062/RE", Fmt::Explicit),
        it("I062/SP", Fmt::Explicit),
    ],
};

/// I021/220 met information: WS WD TMP TRB.
const I021_220: &[Option<Fmt>] = &[Some(F2), Some(F2), Some(F2), Some(F1)];

/// I021/110 trajectory intent: TIS (extended), TID (repetitive, 15 octets).
const I021_110: &[Option<Fmt>] = &[Some(EXT), Some(Fmt::Repetitive(15))];

/// I021/295 data ages: 23 subfields of one octet.
const I021_295: &[Option<Fmt>] = &[Some(F1); 23];

/// CAT021, ADS-B target reports, editions 2.1 to 2.7.
pub static CAT021: Uap = Uap {
    category: 21,
    editions: "2.1-2.7",
    items: &[
        it("I021/010", F2),
        it("I021/040", EXT),
        it("I021/161", F2),
        it("I021/015", F1),
        it("I021/071", Fmt::Fixed(3)),
        it("I021/130", Fmt::Fixed(6)),
        it("I021/131", Fmt::Fixed(8)),
        it("I021/072", Fmt::Fixed(3)),
        it("I021/150", F2),
        it("I021/151", F2),
        it("I021/080", Fmt::Fixed(3)),
        it("I021/073", Fmt::Fixed(3)),
        it("I021/074", Fmt::Fixed(4)),
        it("I021/075", Fmt::Fixed(3)),
        it("I021/076", Fmt::Fixed(4)),
        it("I021/140", F2),
        it("I021/090", EXT),
        it("I021/210", F1),
        it("I021/070", F2),
        it("I021/230", F2),
        it("I021/145", F2),
        it("I021/152", F2),
        it("I021/200", F1),
        it("I021/155", F2),
        it("I021/157", F2),
        it("I021/160", Fmt::Fixed(4)),
        it("I021/165", F2),
        it("I021/077", Fmt::Fixed(3)),
        it("I021/170", Fmt::Fixed(6)),
        it("I021/020", F1),
        it("I021/220", Fmt::Compound(I021_220)),
        it("I021/146", F2),
        it("I021/148", F2),
        it("I021/110", Fmt::Compound(I021_110)),
        it("I021/016", F1),
        it("I021/008", F1),
        it("I021/271", EXT),
        it("I021/132", F1),
        it("I021/250", Fmt::Repetitive(8)),
        it("I021/260", Fmt::Fixed(7)),
        it("I021/400", F1),
        it("I021/295", Fmt::Compound(I021_295)),
        None,
        None,
        None,
        None,
        None,
        it("I021/RE", Fmt::Explicit),
        it("I021/SP", Fmt::Explicit),
    ],
};

/// The UAP of `category`, when skyfence reads it.
pub fn for_category(category: u8) -> Option<&'static Uap> {
    match category {
        21 => Some(&CAT021),
        34 => Some(&CAT034),
        48 => Some(&CAT048),
        62 => Some(&CAT062),
        _ => None,
    }
}

impl Uap {
    /// The FRN (from 1) of item `id`, for the category modules' constants and tests.
    pub fn frn(&self, id: &str) -> Option<usize> {
        self.items
            .iter()
            .position(|i| i.is_some_and(|i| i.id == id))
            .map(|i| i + 1)
    }
}
