public import SwiftProtobuf

/// Record values reach the decoders as slices of the buffer a fetched batch shares
/// (`KafkaMessage.valueBytes`); SwiftProtobuf decodes from `[UInt8]` and `Data` without a
/// deprecation, and from a slice only through its deprecated `ContiguousBytes` overload. An
/// `ArraySlice<UInt8>` already has every member the protocol asks for, so it conforms as it is,
/// and decoding a record needs no copy.
// swift-format-ignore: AvoidRetroactiveConformances
extension ArraySlice: @retroactive SwiftProtobufContiguousBytes where Element == UInt8 {}
