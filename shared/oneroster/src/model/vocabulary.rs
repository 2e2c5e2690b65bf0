//! The model's closed enumerations (status, roles, grades and the other
//! OneRoster vocabularies) with their canonical spellings, and sets of them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Record status. A blank status in a bulk file reads as `Active`;
/// OneRoster 1.0's `inactive` reads as `ToBeDeleted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The record exists.
    Active,
    /// The record is to be removed (archived by the sync engine).
    #[serde(rename = "tobedeleted")]
    ToBeDeleted,
}

/// A closed set of canonical spellings (implemented for the model's enums).
pub trait Vocabulary: Copy + Sized + 'static {
    /// Every value.
    const ALL: &'static [Self];
    /// The canonical spelling.
    fn text(self) -> &'static str;
}

/// Declares a closed enumeration with its canonical OneRoster spellings.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in specification order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl crate::model::Vocabulary for $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
            fn text(self) -> &'static str { self.as_str() }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// `orgs.type`
    OrgType {
        /// department
        Department = "department",
        /// school
        School = "school",
        /// district
        District = "district",
        /// local
        Local = "local",
        /// state
        State = "state",
        /// national
        National = "national",
    }
);

vocabulary!(
    /// `academicSessions.type`
    SessionType {
        /// gradingPeriod
        GradingPeriod = "gradingPeriod",
        /// semester
        Semester = "semester",
        /// schoolYear
        SchoolYear = "schoolYear",
        /// term
        Term = "term",
    }
);

vocabulary!(
    /// `classes.classType`
    ClassType {
        /// homeroom
        Homeroom = "homeroom",
        /// scheduled
        Scheduled = "scheduled",
    }
);

vocabulary!(
    /// `users.role`
    Role {
        /// administrator
        Administrator = "administrator",
        /// aide
        Aide = "aide",
        /// guardian
        Guardian = "guardian",
        /// parent
        Parent = "parent",
        /// proctor
        Proctor = "proctor",
        /// relative
        Relative = "relative",
        /// student
        Student = "student",
        /// teacher
        Teacher = "teacher",
    }
);

vocabulary!(
    /// OneRoster 1.2 `roles.roleType`.
    RoleType {
        /// primary
        Primary = "primary",
        /// secondary
        Secondary = "secondary",
    }
);

vocabulary!(
    /// OneRoster 1.2 `roles.role` (an `ext:` value is read apart, see
    /// [`crate::v1p2::RoleName`]).
    UserRole {
        /// aide
        Aide = "aide",
        /// counselor
        Counselor = "counselor",
        /// districtAdministrator
        DistrictAdministrator = "districtAdministrator",
        /// guardian
        Guardian = "guardian",
        /// parent
        Parent = "parent",
        /// principal
        Principal = "principal",
        /// proctor
        Proctor = "proctor",
        /// relative
        Relative = "relative",
        /// siteAdministrator
        SiteAdministrator = "siteAdministrator",
        /// student
        Student = "student",
        /// systemAdministrator
        SystemAdministrator = "systemAdministrator",
        /// teacher
        Teacher = "teacher",
    }
);

impl UserRole {
    /// The OneRoster 1.1 role the platform and a tenant's role filter know
    /// this role as: the three administrators and principals are
    /// administrators; a counselor has none.
    pub fn platform_role(self) -> Option<Role> {
        Some(match self {
            UserRole::Aide => Role::Aide,
            UserRole::Counselor => return None,
            UserRole::DistrictAdministrator
            | UserRole::Principal
            | UserRole::SiteAdministrator
            | UserRole::SystemAdministrator => Role::Administrator,
            UserRole::Guardian => Role::Guardian,
            UserRole::Parent => Role::Parent,
            UserRole::Proctor => Role::Proctor,
            UserRole::Relative => Role::Relative,
            UserRole::Student => Role::Student,
            UserRole::Teacher => Role::Teacher,
        })
    }
}

vocabulary!(
    /// `enrollments.role`
    EnrollmentRole {
        /// administrator
        Administrator = "administrator",
        /// proctor
        Proctor = "proctor",
        /// student
        Student = "student",
        /// teacher
        Teacher = "teacher",
    }
);

vocabulary!(
    /// `demographics.sex`: OneRoster 1.1's `male` and `female`; 1.2 adds
    /// `other` and `unspecified` (not extensible: no `ext:` value).
    Sex {
        /// male
        Male = "male",
        /// female
        Female = "female",
        /// other (OneRoster 1.2)
        Other = "other",
        /// unspecified (OneRoster 1.2)
        Unspecified = "unspecified",
    }
);

impl Sex {
    /// OneRoster 1.1's values (1.0's too).
    pub const V1P1: &'static [Sex] = &[Sex::Male, Sex::Female];
}

vocabulary!(
    /// CEDS grade levels.
    Grade {
        /// Infant/toddler
        IT = "IT",
        /// Preschool
        PR = "PR",
        /// Prekindergarten
        PK = "PK",
        /// Transitional kindergarten
        TK = "TK",
        /// Kindergarten
        KG = "KG",
        /// First grade
        G01 = "01",
        /// Second grade
        G02 = "02",
        /// Third grade
        G03 = "03",
        /// Fourth grade
        G04 = "04",
        /// Fifth grade
        G05 = "05",
        /// Sixth grade
        G06 = "06",
        /// Seventh grade
        G07 = "07",
        /// Eighth grade
        G08 = "08",
        /// Ninth grade
        G09 = "09",
        /// Tenth grade
        G10 = "10",
        /// Eleventh grade
        G11 = "11",
        /// Twelfth grade
        G12 = "12",
        /// Grade 13
        G13 = "13",
        /// Postsecondary
        PS = "PS",
        /// Ungraded
        UG = "UG",
        /// Other
        Other = "Other",
    }
);

impl EnrollmentRole {
    /// The user role an enrollment role corresponds to.
    pub fn user_role(self) -> Role {
        match self {
            EnrollmentRole::Administrator => Role::Administrator,
            EnrollmentRole::Proctor => Role::Proctor,
            EnrollmentRole::Student => Role::Student,
            EnrollmentRole::Teacher => Role::Teacher,
        }
    }
}

/// A set of user roles, e.g. the roles a tenant imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoleSet(u16);

impl RoleSet {
    /// No role.
    pub const EMPTY: RoleSet = RoleSet(0);

    /// The default imported roles: student, teacher, administrator, aide.
    pub fn default_imported() -> RoleSet {
        [
            Role::Student,
            Role::Teacher,
            Role::Administrator,
            Role::Aide,
        ]
        .into_iter()
        .collect()
    }

    /// Whether `role` is in the set.
    pub fn contains(self, role: Role) -> bool {
        self.0 & (1 << role as u16) != 0
    }

    /// Adds `role`.
    pub fn insert(&mut self, role: Role) {
        self.0 |= 1 << role as u16;
    }

    /// The roles in specification order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.iter().copied().filter(move |r| self.contains(*r))
    }
}

impl Default for RoleSet {
    fn default() -> Self {
        RoleSet::default_imported()
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut set = RoleSet::EMPTY;
        for role in iter {
            set.insert(role);
        }
        set
    }
}

/// A set of CEDS grades, kept in specification order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct GradeSet(u32);

impl GradeSet {
    /// Adds `grade`.
    pub fn insert(&mut self, grade: Grade) {
        self.0 |= 1 << grade as u32;
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The grades in specification order.
    pub fn iter(self) -> impl Iterator<Item = Grade> {
        Grade::ALL
            .iter()
            .copied()
            .filter(move |g| self.0 & (1 << *g as u32) != 0)
    }
}

impl Serialize for GradeSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}
