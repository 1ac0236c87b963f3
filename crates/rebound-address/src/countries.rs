//! Country calling codes (ITU-T E.164 assignments) and national trunk prefixes, for
//! turning a national number into E.164 with a tenant's default country. Data only.

pub struct Country {
    pub iso: &'static str,
    pub calling_code: &'static str,
    /// Dropped from the front of a national number; empty where there is none.
    pub trunk: &'static str,
}

const COUNTRIES: &[Country] = &[
    Country {
        iso: "US",
        calling_code: "1",
        trunk: "1",
    },
    Country {
        iso: "CA",
        calling_code: "1",
        trunk: "1",
    },
    Country {
        iso: "PR",
        calling_code: "1",
        trunk: "1",
    },
    Country {
        iso: "GB",
        calling_code: "44",
        trunk: "0",
    },
    Country {
        iso: "IE",
        calling_code: "353",
        trunk: "0",
    },
    Country {
        iso: "FR",
        calling_code: "33",
        trunk: "0",
    },
    Country {
        iso: "DE",
        calling_code: "49",
        trunk: "0",
    },
    Country {
        iso: "AT",
        calling_code: "43",
        trunk: "0",
    },
    Country {
        iso: "CH",
        calling_code: "41",
        trunk: "0",
    },
    Country {
        iso: "BE",
        calling_code: "32",
        trunk: "0",
    },
    Country {
        iso: "NL",
        calling_code: "31",
        trunk: "0",
    },
    Country {
        iso: "LU",
        calling_code: "352",
        trunk: "",
    },
    Country {
        iso: "ES",
        calling_code: "34",
        trunk: "",
    },
    Country {
        iso: "PT",
        calling_code: "351",
        trunk: "",
    },
    Country {
        iso: "IT",
        calling_code: "39",
        trunk: "",
    },
    Country {
        iso: "SM",
        calling_code: "378",
        trunk: "",
    },
    Country {
        iso: "GR",
        calling_code: "30",
        trunk: "",
    },
    Country {
        iso: "CY",
        calling_code: "357",
        trunk: "",
    },
    Country {
        iso: "MT",
        calling_code: "356",
        trunk: "",
    },
    Country {
        iso: "DK",
        calling_code: "45",
        trunk: "",
    },
    Country {
        iso: "NO",
        calling_code: "47",
        trunk: "",
    },
    Country {
        iso: "SE",
        calling_code: "46",
        trunk: "0",
    },
    Country {
        iso: "FI",
        calling_code: "358",
        trunk: "0",
    },
    Country {
        iso: "IS",
        calling_code: "354",
        trunk: "",
    },
    Country {
        iso: "EE",
        calling_code: "372",
        trunk: "",
    },
    Country {
        iso: "LV",
        calling_code: "371",
        trunk: "",
    },
    Country {
        iso: "LT",
        calling_code: "370",
        trunk: "8",
    },
    Country {
        iso: "PL",
        calling_code: "48",
        trunk: "",
    },
    Country {
        iso: "CZ",
        calling_code: "420",
        trunk: "",
    },
    Country {
        iso: "SK",
        calling_code: "421",
        trunk: "0",
    },
    Country {
        iso: "HU",
        calling_code: "36",
        trunk: "06",
    },
    Country {
        iso: "SI",
        calling_code: "386",
        trunk: "0",
    },
    Country {
        iso: "HR",
        calling_code: "385",
        trunk: "0",
    },
    Country {
        iso: "RS",
        calling_code: "381",
        trunk: "0",
    },
    Country {
        iso: "BA",
        calling_code: "387",
        trunk: "0",
    },
    Country {
        iso: "RO",
        calling_code: "40",
        trunk: "0",
    },
    Country {
        iso: "BG",
        calling_code: "359",
        trunk: "0",
    },
    Country {
        iso: "UA",
        calling_code: "380",
        trunk: "0",
    },
    Country {
        iso: "BY",
        calling_code: "375",
        trunk: "8",
    },
    Country {
        iso: "RU",
        calling_code: "7",
        trunk: "8",
    },
    Country {
        iso: "KZ",
        calling_code: "7",
        trunk: "8",
    },
    Country {
        iso: "TR",
        calling_code: "90",
        trunk: "0",
    },
    Country {
        iso: "IL",
        calling_code: "972",
        trunk: "0",
    },
    Country {
        iso: "AE",
        calling_code: "971",
        trunk: "0",
    },
    Country {
        iso: "SA",
        calling_code: "966",
        trunk: "0",
    },
    Country {
        iso: "QA",
        calling_code: "974",
        trunk: "",
    },
    Country {
        iso: "EG",
        calling_code: "20",
        trunk: "0",
    },
    Country {
        iso: "MA",
        calling_code: "212",
        trunk: "0",
    },
    Country {
        iso: "DZ",
        calling_code: "213",
        trunk: "0",
    },
    Country {
        iso: "TN",
        calling_code: "216",
        trunk: "",
    },
    Country {
        iso: "NG",
        calling_code: "234",
        trunk: "0",
    },
    Country {
        iso: "GH",
        calling_code: "233",
        trunk: "0",
    },
    Country {
        iso: "KE",
        calling_code: "254",
        trunk: "0",
    },
    Country {
        iso: "ZA",
        calling_code: "27",
        trunk: "0",
    },
    Country {
        iso: "IN",
        calling_code: "91",
        trunk: "0",
    },
    Country {
        iso: "PK",
        calling_code: "92",
        trunk: "0",
    },
    Country {
        iso: "BD",
        calling_code: "880",
        trunk: "0",
    },
    Country {
        iso: "LK",
        calling_code: "94",
        trunk: "0",
    },
    Country {
        iso: "CN",
        calling_code: "86",
        trunk: "0",
    },
    Country {
        iso: "HK",
        calling_code: "852",
        trunk: "",
    },
    Country {
        iso: "TW",
        calling_code: "886",
        trunk: "0",
    },
    Country {
        iso: "JP",
        calling_code: "81",
        trunk: "0",
    },
    Country {
        iso: "KR",
        calling_code: "82",
        trunk: "0",
    },
    Country {
        iso: "SG",
        calling_code: "65",
        trunk: "",
    },
    Country {
        iso: "MY",
        calling_code: "60",
        trunk: "0",
    },
    Country {
        iso: "TH",
        calling_code: "66",
        trunk: "0",
    },
    Country {
        iso: "VN",
        calling_code: "84",
        trunk: "0",
    },
    Country {
        iso: "PH",
        calling_code: "63",
        trunk: "0",
    },
    Country {
        iso: "ID",
        calling_code: "62",
        trunk: "0",
    },
    Country {
        iso: "AU",
        calling_code: "61",
        trunk: "0",
    },
    Country {
        iso: "NZ",
        calling_code: "64",
        trunk: "0",
    },
    Country {
        iso: "MX",
        calling_code: "52",
        trunk: "",
    },
    Country {
        iso: "BR",
        calling_code: "55",
        trunk: "0",
    },
    Country {
        iso: "AR",
        calling_code: "54",
        trunk: "0",
    },
    Country {
        iso: "CL",
        calling_code: "56",
        trunk: "",
    },
    Country {
        iso: "CO",
        calling_code: "57",
        trunk: "",
    },
    Country {
        iso: "PE",
        calling_code: "51",
        trunk: "0",
    },
    Country {
        iso: "VE",
        calling_code: "58",
        trunk: "0",
    },
];

/// The country for an ISO 3166 alpha-2 code, any case.
pub fn lookup(iso: &str) -> Option<&'static Country> {
    COUNTRIES
        .iter()
        .find(|c| c.iso.eq_ignore_ascii_case(iso.trim()))
}
