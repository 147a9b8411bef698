//! Regions (feature `build`): the operator's split of the catalogue by city, so that an
//! edge holds the snapshot of the region its users are in rather than every event.
//!
//! `onsale index --region europe=Berlin,Paris,London --region americas=*` publishes, for
//! every version, the whole catalogue at the folder's root (what "anywhere" reads use) and
//! each region's events under [`layout::region_root`], laid out the same way. A city
//! belongs to one region at most; `*` names the region of every city no other region
//! names; an event whose city no region names is in the root's snapshot alone.

use std::collections::HashSet;
use std::str::FromStr;

use onsale_model::Event;

use crate::SnapshotFolder;
use crate::build::build;
use crate::error::{Error, Result};
use crate::layout;
use crate::snapshot::Catalogue;

/// Most regions an operator may name: each is a snapshot built and published with every
/// version.
pub const MAX_REGIONS: usize = 64;

/// One region: its name and the cities it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    name: String,
    /// The cities, trimmed and lowercased; empty for the region of every other city.
    cities: Vec<String>,
}

impl Region {
    /// The region's name, a path segment ([`layout::is_region_name`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this region takes every city no other region names (`name=*`).
    pub fn is_the_rest(&self) -> bool {
        self.cities.is_empty()
    }
}

/// Reads `name=City,City` or `name=*`; cities are matched in any case.
impl FromStr for Region {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Region> {
        let invalid = |why: String| Error::Regions(format!("{spec:?}: {why}"));
        let (name, cities) = spec
            .split_once('=')
            .ok_or_else(|| invalid("write a region as name=City,City or name=*".into()))?;
        let name = name.trim();
        if !layout::is_region_name(name) {
            return Err(invalid(format!(
                "a region's name is 1 to {} lowercase letters, digits and inner hyphens, \
                 and not {:?}",
                layout::MAX_REGION_NAME,
                layout::EVERY_REGION
            )));
        }
        let cities = if cities.trim() == "*" {
            Vec::new()
        } else {
            let cities: Vec<String> = cities
                .split(',')
                .map(|city| city.trim().to_lowercase())
                .collect();
            if cities.iter().any(String::is_empty) {
                return Err(invalid("a city is blank".into()));
            }
            cities
        };
        Ok(Region {
            name: name.to_string(),
            cities,
        })
    }
}

/// The regions an operator named: distinct names, each city in one region at most, one
/// region of the rest at most.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regions {
    regions: Vec<Region>,
}

impl Regions {
    /// Checks that `regions` can be published together.
    pub fn new(regions: Vec<Region>) -> Result<Regions> {
        if regions.len() > MAX_REGIONS {
            return Err(Error::Regions(format!(
                "at most {MAX_REGIONS} regions, not {}",
                regions.len()
            )));
        }
        let mut names = HashSet::new();
        let mut cities = HashSet::new();
        for region in &regions {
            if !names.insert(&region.name) {
                return Err(Error::Regions(format!(
                    "the region {:?} is named twice",
                    region.name
                )));
            }
            if let Some(city) = region.cities.iter().find(|city| !cities.insert(*city)) {
                return Err(Error::Regions(format!(
                    "the city {city:?} is in two regions"
                )));
            }
        }
        if regions.iter().filter(|r| r.is_the_rest()).count() > 1 {
            return Err(Error::Regions("only one region can be *".into()));
        }
        Ok(Regions { regions })
    }

    /// Whether the operator named no region.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// The region whose events are in `city`, if any.
    pub fn of(&self, city: &str) -> Option<&Region> {
        self.position_of(city).map(|at| &self.regions[at])
    }

    /// Where the region of `city` is among the regions, if it has one.
    fn position_of(&self, city: &str) -> Option<usize> {
        let city = city.trim().to_lowercase();
        self.regions
            .iter()
            .position(|region| region.cities.contains(&city))
            .or_else(|| self.regions.iter().position(Region::is_the_rest))
    }

    /// Builds the snapshots of `version`: every event's (for the root), then each region's
    /// in the order named. Each names every region, sorted.
    pub fn build(&self, version: u64, events: &[Event]) -> Result<Built> {
        let mut names: Vec<String> = self.regions.iter().map(|r| r.name.clone()).collect();
        names.sort_unstable();
        let catalogue = |region: Option<&str>| Catalogue {
            region: region.map(str::to_string),
            regions: names.clone(),
            ..Catalogue::default()
        };
        let mut members: Vec<Vec<Event>> = vec![Vec::new(); self.regions.len()];
        for event in events {
            if let Some(at) = self.position_of(&event.city) {
                members[at].push(event.clone());
            }
        }
        let mut regions = Vec::with_capacity(self.regions.len());
        for (region, events) in self.regions.iter().zip(members) {
            let blob = build(version, &events, catalogue(Some(&region.name)))?;
            regions.push((region.name.clone(), blob));
        }
        Ok(Built {
            every: build(version, events, catalogue(None))?,
            regions,
        })
    }

    /// Builds and publishes `version` into `folder`: the root's blob first, then every
    /// region (its blob and its own `latest`), then the root's `latest`. So a reader that
    /// follows any `latest` finds that version at the root and in every region. Returns
    /// the version's blob sizes, the root's first.
    pub fn publish(
        &self,
        folder: &SnapshotFolder,
        version: u64,
        events: &[Event],
    ) -> Result<Vec<(Option<String>, usize)>> {
        let built = self.build(version, events)?;
        folder.store(&built.every)?;
        let mut sizes = vec![(None, built.every.len())];
        for (name, blob) in &built.regions {
            SnapshotFolder::new(folder.root().join(layout::region_root(name))).publish(blob)?;
            sizes.push((Some(name.clone()), blob.len()));
        }
        folder.point_latest(version)?;
        Ok(sizes)
    }
}

/// The blobs of one version: every event's, and each region's.
#[derive(Debug)]
pub struct Built {
    /// The snapshot of every event.
    pub every: Vec<u8>,
    /// Each region's name and snapshot, in the order named.
    pub regions: Vec<(String, Vec<u8>)>,
}
