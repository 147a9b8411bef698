//! Regions: the operator's split by city, published beside the whole catalogue.

use onsale_indexer::{Error, Region, Regions, Snapshot, SnapshotFolder, layout};
use onsale_model::Event;

use crate::common::{event, every_event, in_list_order};

fn regions(specs: &[&str]) -> Result<Regions, Error> {
    let parsed: Vec<Region> = specs
        .iter()
        .map(|spec| spec.parse())
        .collect::<Result<_, _>>()?;
    Regions::new(parsed)
}

fn in_city(id: u64, city: &str) -> Event {
    Event {
        city: city.to_string(),
        ..event(id, &format!("show {id}"))
    }
}

fn open_latest(root: &std::path::Path) -> Snapshot {
    SnapshotFolder::new(root)
        .open_latest()
        .expect("open")
        .expect("published")
}

#[test]
fn each_region_holds_its_cities_and_the_root_holds_every_event() {
    let events = vec![
        in_city(1, "Berlin"),
        in_city(2, "paris"),
        in_city(3, "Chicago"),
        in_city(4, "Lagos"),
        in_city(5, "BERLIN"),
    ];
    let regions = regions(&["europe=Berlin, Paris", "americas=Chicago", "empty=Oslo"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = SnapshotFolder::new(dir.path());
    let sizes = regions.publish(&folder, 7, &events).unwrap();
    assert_eq!(sizes.len(), 4);
    assert_eq!(sizes[0].0, None);

    let every = open_latest(dir.path());
    assert_eq!(every.version(), 7);
    assert_eq!(every.region(), None);
    assert_eq!(every.regions(), ["americas", "empty", "europe"]);
    assert_eq!(in_list_order(&every_event(&every)), in_list_order(&events));

    let region = |name: &str| open_latest(&dir.path().join(layout::region_root(name)));
    let europe = region("europe");
    assert_eq!((europe.version(), europe.region()), (7, Some("europe")));
    assert_eq!(europe.regions(), every.regions());
    let ids = |snapshot: &Snapshot| -> Vec<u64> {
        let mut ids: Vec<u64> = every_event(snapshot).iter().map(|e| e.id).collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(ids(&europe), [1, 2, 5]);
    assert_eq!(ids(&region("americas")), [3]);
    // A region with no event yet is published empty, so its edges answer an empty list.
    assert!(region("empty").is_empty());
    // Lagos is in no region: the root alone has it.
    assert_eq!(ids(&every), [1, 2, 3, 4, 5]);
}

#[test]
fn the_rest_takes_every_city_no_other_region_names() {
    let events = vec![
        in_city(1, "Berlin"),
        in_city(2, "Lagos"),
        in_city(3, "Lima"),
    ];
    let regions = regions(&["rest=*", "europe=Berlin"]).unwrap();
    assert_eq!(regions.of("berlin").map(Region::name), Some("europe"));
    assert_eq!(regions.of("Lima").map(Region::name), Some("rest"));
    let built = regions.build(2, &events).unwrap();
    let rest = Snapshot::from_bytes(built.regions[0].1.clone()).unwrap();
    assert_eq!(rest.cities(), ["Lagos", "Lima"]);
}

#[test]
fn every_version_is_in_every_region_before_the_root_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = SnapshotFolder::new(dir.path());
    let regions = regions(&["europe=Berlin"]).unwrap();
    regions
        .publish(&folder, 3, &[in_city(1, "Berlin")])
        .unwrap();
    regions
        .publish(&folder, 5, &[in_city(1, "Berlin"), in_city(2, "Berlin")])
        .unwrap();
    let europe = SnapshotFolder::new(dir.path().join(layout::region_root("europe")));
    assert_eq!(europe.latest().unwrap(), Some(5));
    assert_eq!(europe.open(3).unwrap().len(), 1);
    assert_eq!(europe.open(5).unwrap().len(), 2);
    // An older version is refused everywhere, and nothing moves.
    assert!(matches!(
        regions.publish(&folder, 4, &[]),
        Err(Error::Stale { .. })
    ));
    assert_eq!(folder.latest().unwrap(), Some(5));
    assert_eq!(europe.latest().unwrap(), Some(5));
}

#[test]
fn refuses_regions_that_cannot_be_published_together() {
    for (specs, why) in [
        (&["europe"][..], "name=City"),
        (&["Europe=Berlin"], "lowercase"),
        (&["all=Berlin"], "lowercase"),
        (&["a/b=Berlin"], "lowercase"),
        (&["europe=Berlin,,Paris"], "blank"),
        (&["europe=Berlin", "europe=Paris"], "twice"),
        (&["europe=Berlin", "germany=berlin"], "two regions"),
        (&["a=*", "b=*"], "only one"),
    ] {
        let error = regions(specs).unwrap_err();
        assert!(matches!(error, Error::Regions(_)), "{specs:?}");
        assert!(error.to_string().contains(why), "{specs:?}: {error}");
    }
    let many: Vec<String> = (0..=onsale_indexer::regions::MAX_REGIONS)
        .map(|n| format!("r{n}=City {n}"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert!(regions(&many).is_err());
    assert!(regions(&[]).unwrap().is_empty());
}
