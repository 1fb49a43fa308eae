import ServiceLifecycle

/// Runs a listening service and translates a taken address into ``AddressInUse``.
struct ListeningService: Service {
    let service: any Service
    let address: ListenAddress

    func run() async throws {
        do {
            try await service.run()
        } catch  where AddressInUse.matches(error) {
            throw AddressInUse(address: address)
        }
    }
}
