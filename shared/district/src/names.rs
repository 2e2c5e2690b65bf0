//! Reference data: people's given and family names, the district's city
//! and state, school names, birthplaces and demographic weights; and the ASCII
//! folding of names for emails and usernames.

#[rustfmt::skip]
pub(crate) const FEMALE_NAMES: &[&str] = &[
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
    "Emily", "Ella", "Elizabeth", "Camila", "Luna", "Sofía", "Avery", "Mila", "Aria", "Scarlett",
    "Penelope", "Layla", "Chloe", "Victoria", "Madison", "Eleanor", "Grace", "Nora", "Riley",
    "Zoë", "Hannah", "Hazel", "Lily", "Violet", "Aaliyah", "Fatima", "Aisha", "Priya", "Ananya",
    "Mei", "Yuki", "Linh", "Ngozi", "Amara", "Ximena", "Valentina", "Renée", "Siobhán", "Ingrid",
    "Leilani", "Nayeli", "Chiara", "Anh", "Maryam",
];
#[rustfmt::skip]
pub(crate) const MALE_NAMES: &[&str] = &[
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Theodore", "Jack", "Levi", "Alexander", "Jackson", "Mateo", "Daniel", "Michael", "Mason",
    "Sebastian", "Ethan", "Logan", "Owen", "Samuel", "Jacob", "Asher", "Aiden", "John", "Joseph",
    "Wyatt", "David", "Leo", "Luke", "Julian", "Hudson", "Grayson", "Matthew", "Ezra", "Gabriel",
    "Carter", "Isaac", "José", "Santiago", "Diego", "Muhammad", "Omar", "Arjun", "Wei", "Hiroshi",
    "Minh", "Kwame", "Chidi", "Tariq", "Björn", "François", "Dmitri", "Kai",
];
#[rustfmt::skip]
pub(crate) const FAMILY_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyễn", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Kim", "Patel", "Chen", "Wang", "Singh", "Kumar",
    "Shah", "Tran", "Pham", "Park", "Choi", "Yamamoto", "Tanaka", "Sato", "Müller", "Schmidt",
    "Novak", "Kowalski", "Łukasik", "Ivanov", "Petrov", "O'Connor", "O'Brien", "Murphy", "Kelly",
    "Sullivan", "Okafor", "Adeyemi", "Mensah", "Diallo", "Haddad", "Khalil", "Rahman", "Hussain",
    "Cohen", "Levy", "Rossi", "Russo", "Peña", "Castillo", "Jiménez", "Gómez", "Núñez", "Ortiz",
    "Silva", "Santos", "Pereira", "Costa", "Andersson", "Håkansson", "Çelik", "Yılmaz",
    "Papadopoulos", "Begay", "Yazzie", "Kealoha", "García-López",
];

/// `(city, state, state FIPS, area code)` of the synthetic district.
pub(crate) const DISTRICT_CITIES: &[(&str, &str, &str, &str)] = &[
    ("Springfield", "IL", "17", "217"),
    ("Riverside", "CA", "06", "951"),
    ("Fairview", "TX", "48", "972"),
    ("Franklin", "TN", "47", "615"),
    ("Greenville", "SC", "45", "864"),
    ("Bristol", "CT", "09", "860"),
    ("Clinton", "NY", "36", "315"),
    ("Salem", "OR", "41", "503"),
    ("Madison", "WI", "55", "608"),
    ("Georgetown", "KY", "21", "502"),
    ("Arlington", "VA", "51", "703"),
    ("Marion", "OH", "39", "740"),
    ("Las Cruces", "NM", "35", "575"),
    ("Hilo", "HI", "15", "808"),
];
pub(crate) const DISTRICT_KINDS: &[&str] = &[
    "Unified School District",
    "Public Schools",
    "Independent School District",
    "City School District",
];
#[rustfmt::skip]
pub(crate) const SIS_NAMES: &[&str] = &[
    "PowerSchool", "Infinite Campus", "Skyward", "Aeries", "Synergy",
];
#[rustfmt::skip]
pub(crate) const SCHOOL_NAMES: &[&str] = &[
    "Lincoln", "Washington", "Roosevelt", "Jefferson", "Cesar Chavez", "Sojourner Truth",
    "Maple Grove", "Riverside", "Oak Hill", "Pine Ridge", "Lakeview", "Harriet Tubman", "Sunset",
    "Highland", "Cedar Creek", "Willow Brook", "Frederick Douglass", "Sally Ride", "Eastwood",
    "Westfield", "Northgate", "Southside", "Meadowbrook", "Fairmont", "Hillcrest", "Mountain View",
    "Valley Vista", "Ellen Ochoa", "Thurgood Marshall", "Amelia Earhart", "Booker T. Washington",
    "Rosa Parks", "John Muir", "Clara Barton", "Dolores Huerta", "Sequoyah", "Liliʻuokalani",
    "Garfield", "Madison", "Monroe", "Kennedy", "Franklin", "Edison", "Whittier", "Emerson",
    "Longfellow", "Hawthorne", "Irving",
];
/// Distinguishes schools of the same level and base name.
pub(crate) const PLACE_WORDS: &[&str] =
    &["", "Park", "Heights", "Hills", "Grove", "Valley", "Springs"];
#[rustfmt::skip]
pub(crate) const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY",
];
/// `(ISO 3166-1 alpha-2, city)` for students born abroad.
pub(crate) const FOREIGN_BIRTHPLACES: &[(&str, &str)] = &[
    ("MX", "Guadalajara"),
    ("MX", "Monterrey"),
    ("VN", "Hồ Chí Minh City"),
    ("CN", "Guangzhou"),
    ("IN", "Hyderabad"),
    ("PH", "Quezon City"),
    ("SV", "San Salvador"),
    ("GT", "Quetzaltenango"),
    ("DO", "Santo Domingo"),
    ("KR", "Seoul"),
    ("UA", "Kyiv"),
    ("NG", "Lagos"),
    ("SO", "Mogadishu"),
    ("BR", "São Paulo"),
    ("HT", "Port-au-Prince"),
];
/// CEDS public school residence status codes and their weights.
pub(crate) const RESIDENCE_STATUS: &[&str] = &["01652", "01653", "01654", "01656"];
pub(crate) const RESIDENCE_WEIGHTS: &[u32] = &[90, 6, 3, 1];
/// Race weights: American Indian/Alaska Native, Asian, Black, Native
/// Hawaiian/Pacific Islander, White.
pub(crate) const RACE_WEIGHTS: &[u32] = &[2, 7, 15, 1, 55];

/// Lowercase ASCII transliteration of a name for emails and usernames
/// (letters and digits only).
pub(crate) fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'a'..='z' | '0'..='9' => c,
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
            'ç' | 'č' => 'c',
            'é' | 'è' | 'ê' | 'ë' | 'ễ' | 'ế' | 'ệ' | 'ē' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'ı' => 'i',
            'ł' => 'l',
            'ñ' => 'n',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'ồ' => 'o',
            'ş' | 'š' => 's',
            'ú' | 'ù' | 'û' | 'ü' | 'ư' => 'u',
            'ý' | 'ÿ' => 'y',
            'ž' => 'z',
            _ => continue,
        };
        out.push(folded);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_to_ascii() {
        for name in FEMALE_NAMES.iter().chain(MALE_NAMES).chain(FAMILY_NAMES) {
            let f = ascii_fold(name);
            assert!(
                !f.is_empty() && f.bytes().all(|b| b.is_ascii_lowercase()),
                "{name} → {f}"
            );
        }
        assert_eq!(ascii_fold("Nguyễn"), "nguyen");
        assert_eq!(ascii_fold("Zoë"), "zoe");
        assert_eq!(ascii_fold("O'Connor"), "oconnor");
        assert!(FEMALE_NAMES.len() + MALE_NAMES.len() >= 100);
        assert!(FAMILY_NAMES.len() >= 100);
    }
}
