import QtQuick
import QtQuick.Controls

// The primary action of a view: white text on the accent colour, in both themes.
Button {
    id: button
    contentItem: Label {
        text: button.text
        font: button.font
        color: Theme.dark ? "#14161a" : "#ffffff"
        horizontalAlignment: Text.AlignHCenter
        verticalAlignment: Text.AlignVCenter
        elide: Text.ElideRight
    }
    background: Rectangle {
        implicitWidth: 88
        implicitHeight: 40
        radius: Theme.radius
        opacity: button.enabled ? 1.0 : 0.45
        color: button.down ? Qt.darker(Theme.accent, 1.2) : button.hovered ? Qt.lighter(Theme.accent, 1.08) : Theme.accent
    }
}
