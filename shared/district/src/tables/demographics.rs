//! `demographics.csv`, one row per student.

use rand::Rng;

use super::ACTIVE;
use crate::dates::{civil_from_days, days_from_civil};
use crate::names::{
    FOREIGN_BIRTHPLACES, RACE_WEIGHTS, RESIDENCE_STATUS, RESIDENCE_WEIGHTS, US_STATES,
};
use crate::plan::Plan;
use crate::rng::{pick, rng_for, weighted, K_DEMOGRAPHICS};
use crate::writer::Table;

pub(crate) const DEMOGRAPHICS_HEADER: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "birthDate",
    "sex",
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
    "countryOfBirthCode",
    "stateOfBirthAbbreviation",
    "cityOfBirth",
    "publicSchoolResidenceStatus",
];

/// The rows of `demographics.csv`, one per student.
pub(crate) fn write_demographics(plan: &Plan, t: &mut Table<'_, '_>) -> csv::Result<()> {
    let d = &plan.district;
    let tf = |b: bool| if b { "true" } else { "false" };
    for s in &plan.schools {
        for (g, gp) in &s.grades {
            // Born between Sept 2 and Sept 1 of the following year.
            let first_birthday = days_from_civil(2020 - i64::from(*g), 9, 2);
            for i in gp.first_student..gp.first_student + gp.students {
                let p = plan.student_person(i);
                let mut rng = rng_for(plan.seed, K_DEMOGRAPHICS, plan.student_key(i));
                let birth = civil_from_days(first_birthday + rng.gen_range(0..365));
                let mut race = [false; 5];
                race[weighted(&mut rng, RACE_WEIGHTS)] = true;
                if rng.gen_bool(0.06) {
                    race[weighted(&mut rng, RACE_WEIGHTS)] = true;
                }
                let two_or_more = race.iter().filter(|r| **r).count() >= 2;
                let hispanic = rng.gen_bool(0.27);
                let (country, state, city) = if rng.gen_bool(0.88) {
                    if rng.gen_bool(0.85) {
                        let city = if rng.gen_bool(0.6) { d.city } else { "" };
                        ("US", d.state, city)
                    } else {
                        ("US", pick(&mut rng, US_STATES), "")
                    }
                } else {
                    let (c, city) = pick(&mut rng, FOREIGN_BIRTHPLACES);
                    (c, "", city)
                };
                let residence = RESIDENCE_STATUS[weighted(&mut rng, RESIDENCE_WEIGHTS)];
                t.row([
                    plan.student_id(i).as_str(),
                    ACTIVE,
                    &plan.student_modified(i),
                    &birth,
                    if p.female { "female" } else { "male" },
                    tf(race[0]),
                    tf(race[1]),
                    tf(race[2]),
                    tf(race[3]),
                    tf(race[4]),
                    tf(two_or_more),
                    tf(hispanic),
                    country,
                    state,
                    city,
                    residence,
                ])?;
            }
        }
    }
    Ok(())
}
