//! The demo's destination table: real country calling codes (ITU-T E.164 assignments),
//! mobile and city ranges of the busier ones, and a few special Spanish and British
//! ranges, each with a plausible wholesale cost per minute in EUR and a traffic weight
//! (how often the demo's clients call it; 0 = in the plans but hardly ever called).
//! The prices are invented for the demo, in the range such routes sell at.

/// Where a destination is, as seen from a Spanish operator: it decides the carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Domestic,
    Europe,
    World,
}

#[derive(Debug, Clone, Copy)]
pub struct Destination {
    /// E.164 digits without `+`.
    pub prefix: &'static str,
    pub name: &'static str,
    /// Carrier cost per minute, EUR.
    pub cost: &'static str,
    /// Relative share of outbound calls.
    pub weight: u32,
}

impl Destination {
    pub fn zone(&self) -> Zone {
        if self.prefix.starts_with("34") {
            Zone::Domestic
        } else if EUROPE.iter().any(|cc| self.prefix.starts_with(cc)) {
            Zone::Europe
        } else {
            Zone::World
        }
    }

    /// Premium and shared-cost ranges: priced higher, with a connect fee, in every plan.
    pub fn is_special(&self) -> bool {
        ["34901", "34902", "34118", "4490", "4491"].contains(&self.prefix)
    }

    /// Freephone: rated at zero.
    pub fn is_freephone(&self) -> bool {
        ["34900", "44800", "3380"].contains(&self.prefix)
    }

    /// Digits a full number to this destination has (country code included).
    pub fn number_length(&self) -> usize {
        let p = self.prefix;
        let length = match () {
            _ if p.starts_with('1') => 11,
            _ if p.starts_with("34") => 11,
            _ if p.starts_with("44") || p.starts_with("49") || p.starts_with("39") => 12,
            _ if p.starts_with("86") || p.starts_with("55") => 13,
            _ if p.starts_with("91") || p.starts_with("52") || p.starts_with("7") => 12,
            _ => 3 + 9,
        };
        length.max(p.len() + 4).min(15)
    }
}

/// Country codes (and the NANP areas below) counted as Europe.
const EUROPE: &[&str] = &[
    "30", "31", "32", "33", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
    "350", "351", "352", "353", "354", "355", "356", "357", "358", "359", "370", "371", "372",
    "373", "376", "377", "378", "380", "381", "382", "383", "385", "386", "387", "389", "420",
    "421", "423", "298",
];

macro_rules! destinations {
    ($(($prefix:literal, $name:literal, $cost:literal, $weight:literal)),* $(,)?) => {
        &[$(Destination { prefix: $prefix, name: $name, cost: $cost, weight: $weight }),*]
    };
}

/// Prefix, destination name, cost per minute (EUR), traffic weight.
pub const DESTINATIONS: &[Destination] = destinations![
    // Spain: most of the traffic.
    ("34", "Spain", "0.0035", 200),
    ("3491", "Spain Madrid", "0.0030", 260),
    ("3493", "Spain Barcelona", "0.0030", 160),
    ("3495", "Spain Andalusia West", "0.0035", 40),
    ("3496", "Spain Valencia", "0.0035", 60),
    ("3494", "Spain Basque Country", "0.0035", 30),
    ("3498", "Spain Asturias", "0.0035", 12),
    ("346", "Spain mobile", "0.0085", 380),
    ("347", "Spain mobile", "0.0085", 90),
    ("34900", "Spain freephone", "0.0000", 15),
    ("34901", "Spain shared cost", "0.0450", 4),
    ("34902", "Spain shared cost", "0.0600", 8),
    ("34118", "Spain directory enquiries", "0.9000", 1),
    // Europe, with mobile and capital-city ranges.
    ("30", "Greece", "0.0080", 2),
    ("3069", "Greece mobile", "0.0190", 2),
    ("31", "Netherlands", "0.0060", 4),
    ("316", "Netherlands mobile", "0.0260", 4),
    ("32", "Belgium", "0.0065", 4),
    ("3246", "Belgium mobile", "0.0240", 2),
    ("3247", "Belgium mobile", "0.0240", 2),
    ("3248", "Belgium mobile", "0.0240", 2),
    ("3249", "Belgium mobile", "0.0240", 2),
    ("33", "France", "0.0045", 18),
    ("331", "France Paris", "0.0040", 14),
    ("336", "France mobile", "0.0150", 20),
    ("337", "France mobile", "0.0150", 8),
    ("3380", "France freephone", "0.0000", 1),
    ("36", "Hungary", "0.0090", 1),
    ("3620", "Hungary mobile", "0.0280", 1),
    ("3630", "Hungary mobile", "0.0280", 1),
    ("3670", "Hungary mobile", "0.0280", 1),
    ("39", "Italy", "0.0055", 8),
    ("3902", "Italy Milan", "0.0050", 6),
    ("3906", "Italy Rome", "0.0050", 5),
    ("393", "Italy mobile", "0.0160", 12),
    ("40", "Romania", "0.0090", 3),
    ("407", "Romania mobile", "0.0170", 8),
    ("41", "Switzerland", "0.0120", 2),
    ("4175", "Switzerland mobile", "0.0650", 1),
    ("4176", "Switzerland mobile", "0.0650", 1),
    ("4177", "Switzerland mobile", "0.0650", 1),
    ("4178", "Switzerland mobile", "0.0650", 1),
    ("4179", "Switzerland mobile", "0.0650", 1),
    ("43", "Austria", "0.0080", 1),
    ("436", "Austria mobile", "0.0350", 1),
    ("44", "United Kingdom", "0.0040", 14),
    ("4420", "United Kingdom London", "0.0035", 12),
    ("447", "United Kingdom mobile", "0.0120", 18),
    ("44800", "United Kingdom freephone", "0.0000", 1),
    ("4490", "United Kingdom premium", "0.6500", 0),
    ("4491", "United Kingdom premium", "0.8000", 0),
    ("45", "Denmark", "0.0070", 1),
    ("46", "Sweden", "0.0060", 1),
    ("467", "Sweden mobile", "0.0190", 1),
    ("47", "Norway", "0.0070", 1),
    ("474", "Norway mobile", "0.0230", 1),
    ("479", "Norway mobile", "0.0230", 1),
    ("48", "Poland", "0.0060", 2),
    ("485", "Poland mobile", "0.0140", 2),
    ("4866", "Poland mobile", "0.0140", 1),
    ("4869", "Poland mobile", "0.0140", 1),
    ("4872", "Poland mobile", "0.0140", 1),
    ("4873", "Poland mobile", "0.0140", 1),
    ("4878", "Poland mobile", "0.0140", 1),
    ("4879", "Poland mobile", "0.0140", 1),
    ("4888", "Poland mobile", "0.0140", 1),
    ("49", "Germany", "0.0045", 10),
    ("4930", "Germany Berlin", "0.0040", 5),
    ("4989", "Germany Munich", "0.0040", 4),
    ("4915", "Germany mobile", "0.0180", 5),
    ("4916", "Germany mobile", "0.0180", 4),
    ("4917", "Germany mobile", "0.0180", 5),
    ("298", "Faroe Islands", "0.0900", 0),
    ("350", "Gibraltar", "0.0600", 2),
    ("351", "Portugal", "0.0050", 12),
    ("3519", "Portugal mobile", "0.0140", 14),
    ("352", "Luxembourg", "0.0080", 1),
    ("353", "Ireland", "0.0070", 3),
    ("3538", "Ireland mobile", "0.0200", 3),
    ("354", "Iceland", "0.0200", 0),
    ("355", "Albania", "0.0900", 1),
    ("356", "Malta", "0.0150", 1),
    ("357", "Cyprus", "0.0120", 1),
    ("358", "Finland", "0.0110", 1),
    ("359", "Bulgaria", "0.0150", 1),
    ("370", "Lithuania", "0.0140", 1),
    ("371", "Latvia", "0.0140", 0),
    ("372", "Estonia", "0.0140", 0),
    ("373", "Moldova", "0.0950", 1),
    ("376", "Andorra", "0.0400", 3),
    ("377", "Monaco", "0.0300", 0),
    ("378", "San Marino", "0.0400", 0),
    ("380", "Ukraine", "0.0600", 2),
    ("38050", "Ukraine mobile", "0.0750", 1),
    ("38067", "Ukraine mobile", "0.0750", 1),
    ("38097", "Ukraine mobile", "0.0750", 1),
    ("381", "Serbia", "0.0550", 1),
    ("382", "Montenegro", "0.0800", 0),
    ("383", "Kosovo", "0.1100", 0),
    ("385", "Croatia", "0.0200", 1),
    ("386", "Slovenia", "0.0250", 0),
    ("387", "Bosnia and Herzegovina", "0.0900", 0),
    ("389", "North Macedonia", "0.0900", 0),
    ("420", "Czechia", "0.0060", 1),
    ("4206", "Czechia mobile", "0.0180", 1),
    ("4207", "Czechia mobile", "0.0180", 1),
    ("421", "Slovakia", "0.0080", 1),
    ("423", "Liechtenstein", "0.0600", 0),
    // North America: NANP, with Canada's areas and the Caribbean.
    ("1", "United States", "0.0035", 14),
    ("1204", "Canada Manitoba", "0.0045", 0),
    ("1226", "Canada Ontario", "0.0045", 0),
    ("1236", "Canada British Columbia", "0.0045", 0),
    ("1250", "Canada British Columbia", "0.0045", 0),
    ("1289", "Canada Ontario", "0.0045", 0),
    ("1306", "Canada Saskatchewan", "0.0045", 0),
    ("1343", "Canada Ontario", "0.0045", 0),
    ("1365", "Canada Ontario", "0.0045", 0),
    ("1403", "Canada Alberta", "0.0045", 1),
    ("1416", "Canada Toronto", "0.0045", 2),
    ("1418", "Canada Quebec", "0.0045", 0),
    ("1431", "Canada Manitoba", "0.0045", 0),
    ("1437", "Canada Toronto", "0.0045", 0),
    ("1438", "Canada Montreal", "0.0045", 0),
    ("1450", "Canada Quebec", "0.0045", 0),
    ("1506", "Canada New Brunswick", "0.0045", 0),
    ("1514", "Canada Montreal", "0.0045", 1),
    ("1519", "Canada Ontario", "0.0045", 0),
    ("1548", "Canada Ontario", "0.0045", 0),
    ("1579", "Canada Quebec", "0.0045", 0),
    ("1581", "Canada Quebec", "0.0045", 0),
    ("1587", "Canada Alberta", "0.0045", 0),
    ("1604", "Canada Vancouver", "0.0045", 1),
    ("1613", "Canada Ottawa", "0.0045", 0),
    ("1639", "Canada Saskatchewan", "0.0045", 0),
    ("1647", "Canada Toronto", "0.0045", 0),
    ("1705", "Canada Ontario", "0.0045", 0),
    ("1709", "Canada Newfoundland", "0.0045", 0),
    ("1778", "Canada British Columbia", "0.0045", 0),
    ("1780", "Canada Alberta", "0.0045", 0),
    ("1782", "Canada Nova Scotia", "0.0045", 0),
    ("1807", "Canada Ontario", "0.0045", 0),
    ("1819", "Canada Quebec", "0.0045", 0),
    ("1825", "Canada Alberta", "0.0045", 0),
    ("1867", "Canada Northern Territories", "0.0200", 0),
    ("1873", "Canada Quebec", "0.0045", 0),
    ("1902", "Canada Nova Scotia", "0.0045", 0),
    ("1905", "Canada Ontario", "0.0045", 0),
    ("1242", "Bahamas", "0.1400", 0),
    ("1246", "Barbados", "0.1500", 0),
    ("1264", "Anguilla", "0.1900", 0),
    ("1268", "Antigua and Barbuda", "0.1700", 0),
    ("1284", "British Virgin Islands", "0.1700", 0),
    ("1345", "Cayman Islands", "0.1300", 0),
    ("1441", "Bermuda", "0.0900", 0),
    ("1473", "Grenada", "0.1800", 0),
    ("1649", "Turks and Caicos Islands", "0.1900", 0),
    ("1664", "Montserrat", "0.2000", 0),
    ("1670", "Northern Mariana Islands", "0.0400", 0),
    ("1671", "Guam", "0.0300", 0),
    ("1684", "American Samoa", "0.1500", 0),
    ("1721", "Sint Maarten", "0.1600", 0),
    ("1758", "Saint Lucia", "0.1800", 0),
    ("1767", "Dominica", "0.1800", 0),
    ("1784", "Saint Vincent and the Grenadines", "0.1800", 0),
    ("1787", "Puerto Rico", "0.0100", 1),
    ("1809", "Dominican Republic", "0.0550", 3),
    ("1829", "Dominican Republic", "0.0550", 1),
    ("1849", "Dominican Republic", "0.0550", 1),
    ("1868", "Trinidad and Tobago", "0.1100", 0),
    ("1869", "Saint Kitts and Nevis", "0.1900", 0),
    ("1876", "Jamaica", "0.1500", 0),
    // Latin America.
    ("51", "Peru", "0.0150", 2),
    ("519", "Peru mobile", "0.0350", 3),
    ("52", "Mexico", "0.0080", 3),
    ("521", "Mexico mobile", "0.0120", 3),
    ("53", "Cuba", "0.5500", 2),
    ("54", "Argentina", "0.0120", 2),
    ("549", "Argentina mobile", "0.0700", 3),
    ("55", "Brazil", "0.0090", 1),
    ("5511", "Brazil Sao Paulo", "0.0070", 1),
    ("55119", "Brazil Sao Paulo mobile", "0.0400", 1),
    ("56", "Chile", "0.0120", 1),
    ("569", "Chile mobile", "0.0250", 1),
    ("57", "Colombia", "0.0150", 3),
    ("573", "Colombia mobile", "0.0180", 5),
    ("58", "Venezuela", "0.0500", 1),
    ("58412", "Venezuela mobile", "0.1200", 1),
    ("58414", "Venezuela mobile", "0.1200", 1),
    ("58424", "Venezuela mobile", "0.1200", 1),
    ("500", "Falkland Islands", "1.0500", 0),
    ("501", "Belize", "0.2100", 0),
    ("502", "Guatemala", "0.1100", 0),
    ("503", "El Salvador", "0.1300", 0),
    ("504", "Honduras", "0.1600", 1),
    ("505", "Nicaragua", "0.1800", 0),
    ("506", "Costa Rica", "0.0400", 0),
    ("507", "Panama", "0.0500", 0),
    ("509", "Haiti", "0.2800", 0),
    ("590", "Guadeloupe", "0.0600", 0),
    ("591", "Bolivia", "0.0900", 1),
    ("592", "Guyana", "0.2700", 0),
    ("593", "Ecuador", "0.0800", 1),
    ("5939", "Ecuador mobile", "0.1600", 2),
    ("594", "French Guiana", "0.0800", 0),
    ("595", "Paraguay", "0.0700", 1),
    ("596", "Martinique", "0.0600", 0),
    ("597", "Suriname", "0.2200", 0),
    ("598", "Uruguay", "0.0900", 0),
    ("5999", "Curacao", "0.1500", 0),
    // Africa.
    ("20", "Egypt", "0.0900", 1),
    ("27", "South Africa", "0.0250", 1),
    ("211", "South Sudan", "0.4200", 0),
    ("212", "Morocco", "0.0900", 4),
    ("2126", "Morocco mobile", "0.2200", 6),
    ("2127", "Morocco mobile", "0.2200", 2),
    ("213", "Algeria", "0.0800", 1),
    ("2135", "Algeria mobile", "0.3200", 1),
    ("2136", "Algeria mobile", "0.3200", 1),
    ("2137", "Algeria mobile", "0.3200", 1),
    ("216", "Tunisia", "0.2100", 0),
    ("218", "Libya", "0.2200", 0),
    ("220", "Gambia", "0.5100", 0),
    ("221", "Senegal", "0.1500", 1),
    ("22176", "Senegal mobile", "0.2300", 1),
    ("22177", "Senegal mobile", "0.2300", 1),
    ("22178", "Senegal mobile", "0.2300", 1),
    ("222", "Mauritania", "0.5200", 0),
    ("223", "Mali", "0.4800", 0),
    ("224", "Guinea", "0.3700", 0),
    ("225", "Cote d'Ivoire", "0.2600", 0),
    ("226", "Burkina Faso", "0.4000", 0),
    ("227", "Niger", "0.3600", 0),
    ("228", "Togo", "0.3100", 0),
    ("229", "Benin", "0.3100", 0),
    ("230", "Mauritius", "0.1400", 0),
    ("231", "Liberia", "0.3200", 0),
    ("232", "Sierra Leone", "0.3000", 0),
    ("233", "Ghana", "0.2700", 1),
    ("234", "Nigeria", "0.1400", 1),
    ("23470", "Nigeria mobile", "0.1600", 0),
    ("23480", "Nigeria mobile", "0.1600", 1),
    ("23481", "Nigeria mobile", "0.1600", 0),
    ("23490", "Nigeria mobile", "0.1600", 0),
    ("235", "Chad", "0.4500", 0),
    ("236", "Central African Republic", "0.5400", 0),
    ("237", "Cameroon", "0.3300", 0),
    ("238", "Cape Verde", "0.2600", 0),
    ("239", "Sao Tome and Principe", "0.6500", 0),
    ("240", "Equatorial Guinea", "0.3600", 1),
    ("241", "Gabon", "0.4400", 0),
    ("242", "Congo", "0.3900", 0),
    ("243", "DR Congo", "0.3800", 0),
    ("244", "Angola", "0.1500", 0),
    ("245", "Guinea-Bissau", "0.6000", 0),
    ("248", "Seychelles", "0.3300", 0),
    ("249", "Sudan", "0.3200", 0),
    ("250", "Rwanda", "0.3300", 0),
    ("251", "Ethiopia", "0.3300", 0),
    ("252", "Somalia", "0.6500", 0),
    ("253", "Djibouti", "0.4700", 0),
    ("254", "Kenya", "0.1100", 0),
    ("255", "Tanzania", "0.2500", 0),
    ("256", "Uganda", "0.2800", 0),
    ("257", "Burundi", "0.4200", 0),
    ("258", "Mozambique", "0.3000", 0),
    ("260", "Zambia", "0.3100", 0),
    ("261", "Madagascar", "0.5300", 0),
    ("262", "Reunion", "0.0600", 0),
    ("263", "Zimbabwe", "0.3400", 0),
    ("264", "Namibia", "0.2000", 0),
    ("265", "Malawi", "0.3200", 0),
    ("266", "Lesotho", "0.2900", 0),
    ("267", "Botswana", "0.2400", 0),
    ("268", "Eswatini", "0.2500", 0),
    ("269", "Comoros", "0.6000", 0),
    ("290", "Saint Helena", "1.2000", 0),
    ("291", "Eritrea", "0.5500", 0),
    ("297", "Aruba", "0.1700", 0),
    ("299", "Greenland", "0.6500", 0),
    // Asia and the Middle East.
    ("7", "Russia", "0.0400", 1),
    ("79", "Russia mobile", "0.0550", 1),
    ("76", "Kazakhstan", "0.0900", 0),
    ("77", "Kazakhstan", "0.0900", 0),
    ("60", "Malaysia", "0.0150", 0),
    ("62", "Indonesia", "0.0500", 0),
    ("63", "Philippines", "0.1300", 1),
    ("639", "Philippines mobile", "0.1600", 2),
    ("65", "Singapore", "0.0080", 1),
    ("66", "Thailand", "0.0200", 1),
    ("81", "Japan", "0.0250", 1),
    ("8180", "Japan mobile", "0.0650", 0),
    ("8190", "Japan mobile", "0.0650", 1),
    ("82", "South Korea", "0.0160", 0),
    ("84", "Vietnam", "0.0550", 0),
    ("86", "China", "0.0100", 2),
    ("8613", "China mobile", "0.0100", 1),
    ("8615", "China mobile", "0.0100", 1),
    ("8618", "China mobile", "0.0100", 1),
    ("90", "Turkey", "0.0300", 1),
    ("905", "Turkey mobile", "0.1200", 1),
    ("91", "India", "0.0250", 1),
    ("916", "India mobile", "0.0200", 1),
    ("917", "India mobile", "0.0200", 1),
    ("918", "India mobile", "0.0200", 1),
    ("919", "India mobile", "0.0200", 2),
    ("92", "Pakistan", "0.0800", 1),
    ("923", "Pakistan mobile", "0.0900", 2),
    ("93", "Afghanistan", "0.2800", 0),
    ("94", "Sri Lanka", "0.1300", 0),
    ("95", "Myanmar", "0.2300", 0),
    ("98", "Iran", "0.1800", 0),
    ("850", "North Korea", "1.3000", 0),
    ("852", "Hong Kong", "0.0100", 1),
    ("853", "Macau", "0.0500", 0),
    ("855", "Cambodia", "0.0600", 0),
    ("856", "Laos", "0.0600", 0),
    ("880", "Bangladesh", "0.0250", 1),
    ("8801", "Bangladesh mobile", "0.0280", 1),
    ("886", "Taiwan", "0.0250", 0),
    ("960", "Maldives", "0.6500", 0),
    ("961", "Lebanon", "0.1700", 0),
    ("962", "Jordan", "0.1500", 0),
    ("963", "Syria", "0.3000", 0),
    ("964", "Iraq", "0.1200", 0),
    ("965", "Kuwait", "0.0900", 0),
    ("966", "Saudi Arabia", "0.1100", 1),
    ("9665", "Saudi Arabia mobile", "0.1300", 1),
    ("967", "Yemen", "0.2200", 0),
    ("968", "Oman", "0.2200", 0),
    ("970", "Palestine", "0.1800", 0),
    ("971", "United Arab Emirates", "0.1500", 1),
    ("9715", "United Arab Emirates mobile", "0.1700", 1),
    ("972", "Israel", "0.0150", 1),
    ("973", "Bahrain", "0.1000", 0),
    ("974", "Qatar", "0.1900", 0),
    ("975", "Bhutan", "0.2100", 0),
    ("976", "Mongolia", "0.0500", 0),
    ("977", "Nepal", "0.2200", 1),
    ("992", "Tajikistan", "0.1900", 0),
    ("993", "Turkmenistan", "0.1600", 0),
    ("994", "Azerbaijan", "0.2300", 0),
    ("995", "Georgia", "0.1700", 0),
    ("996", "Kyrgyzstan", "0.1500", 0),
    ("998", "Uzbekistan", "0.1500", 0),
    // Oceania.
    ("61", "Australia", "0.0120", 1),
    ("614", "Australia mobile", "0.0300", 1),
    ("64", "New Zealand", "0.0200", 0),
    ("670", "Timor-Leste", "0.8000", 0),
    ("673", "Brunei", "0.0500", 0),
    ("674", "Nauru", "1.1000", 0),
    ("675", "Papua New Guinea", "0.9000", 0),
    ("676", "Tonga", "0.5500", 0),
    ("677", "Solomon Islands", "0.9500", 0),
    ("678", "Vanuatu", "0.9000", 0),
    ("679", "Fiji", "0.3000", 0),
    ("680", "Palau", "0.6000", 0),
    ("685", "Samoa", "0.5500", 0),
    ("686", "Kiribati", "0.9000", 0),
    ("687", "New Caledonia", "0.3500", 0),
    ("689", "French Polynesia", "0.3000", 0),
    ("691", "Micronesia", "0.6500", 0),
    ("692", "Marshall Islands", "0.5000", 0),
];

/// A satellite network that no demo plan rates: calls to it stay unrated, as they would
/// on a real platform whose plans miss a destination.
pub const UNRATED_PREFIX: &str = "8816";

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_table_is_a_few_hundred_distinct_valid_prefixes() {
        assert!(DESTINATIONS.len() >= 300, "{}", DESTINATIONS.len());
        let mut seen = HashSet::new();
        for d in DESTINATIONS {
            assert!(seen.insert(d.prefix), "{} twice", d.prefix);
            assert!(d.prefix.bytes().all(|b| b.is_ascii_digit()) && !d.prefix.starts_with('0'));
            let cost: rust_decimal::Decimal = d.cost.parse().unwrap();
            assert!(cost >= rust_decimal::Decimal::ZERO && cost < rust_decimal::Decimal::TWO);
            assert!(d.number_length() > d.prefix.len() && d.number_length() <= 15);
        }
        assert!(!DESTINATIONS
            .iter()
            .any(|d| UNRATED_PREFIX.starts_with(d.prefix)));
    }

    #[test]
    fn zones_follow_the_prefix() {
        let zone = |p: &str| DESTINATIONS.iter().find(|d| d.prefix == p).unwrap().zone();
        assert_eq!(zone("346"), Zone::Domestic);
        assert_eq!(zone("447"), Zone::Europe);
        assert_eq!(zone("351"), Zone::Europe);
        assert_eq!(zone("1"), Zone::World);
        assert_eq!(zone("2126"), Zone::World);
    }
}
