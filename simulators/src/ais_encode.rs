//! AIS encoder (being written).
