import TriageIntake

extension WorkerServiceGroup {
    /// The services of an intake, in their order, its gRPC server as the listener on `address`.
    mutating func addIntake(_ instance: IntakeInstance, at address: ListenAddress) {
        for service in instance.services {
            if service as AnyObject === instance.server {
                addListener(IntakeServerService(server: instance.server), at: address)
            } else {
                add([service])
            }
        }
    }
}
