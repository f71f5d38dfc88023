fn main() {
    println!("{}", connect_pstn_transfer::VERSION);
}
