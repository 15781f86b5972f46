//! Joining data with global run-time parameters.

use differential_dataflow::VecCollection;
use differential_dataflow::operators::arrange::arrangement::arrange_core;
use differential_dataflow::trace::implementations::{ContainerChunker, ValBatcher, ValBuilder, ValSpine};
use differential_dataflow::{AsCollection, ExchangeData};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::vec::Broadcast;

use crate::Time;

/// Pairs every record of `data` with every record of `params` (normally exactly one: the current
/// parameter set) and maps each pair through `logic`.
///
/// `params` is broadcast to all workers and arranged on each one (`ParamsBroadcast`); `data` stays on
/// the worker that holds it and is arranged there (`ParamsLocalData`). A data change costs one lookup
/// of the parameters; a parameter change revisits the data of every worker, in parallel, at the
/// logical time of the change.
pub fn with_params<'s, D, P, O, L>(
    data: VecCollection<'s, Time, D>,
    params: VecCollection<'s, Time, P>,
    mut logic: L,
) -> VecCollection<'s, Time, O>
where
    D: ExchangeData,
    P: ExchangeData,
    O: differential_dataflow::Data,
    L: FnMut(&D, &P) -> Option<O> + 'static,
{
    let params_everywhere = params.inner.broadcast().as_collection().map(|p| ((), p));
    let params_arranged = arrange_core::<
        _,
        _,
        ContainerChunker<_>,
        ValBatcher<(), P, Time, isize>,
        ValBuilder<(), P, Time, isize>,
        ValSpine<(), P, Time, isize>,
    >(params_everywhere.inner, Pipeline, "ParamsBroadcast");
    let data_arranged = arrange_core::<
        _,
        _,
        ContainerChunker<_>,
        ValBatcher<(), D, Time, isize>,
        ValBuilder<(), D, Time, isize>,
        ValSpine<(), D, Time, isize>,
    >(data.map(|d| ((), d)).inner, Pipeline, "ParamsLocalData");
    data_arranged.join_core(params_arranged, move |_unit, d, p| logic(d, p))
}
