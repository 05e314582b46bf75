fn main() {
    println!("kafkasim");
}
